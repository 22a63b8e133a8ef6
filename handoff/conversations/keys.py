"""Every Redis key and channel the handoff service uses, with its lifetime, under one prefix.

{p}:conv:{cid}            hash    a conversation: state, team, agent, priority, cursor, packet,
                                  its lifetime and transcript bound, its response clocks
                                  (queued_at, answered_queued_at, awaiting_since) and breach
                                  marks (breached_first, breached_next; queue/targets.py)
{p}:conv:{cid}:log        stream  the durable transcript; the stream id is a message's order
{p}:conv:{cid}:seen       hash    client message id -> stream id, for de-duplication
                                  (these three live as long as the conversation's state says:
                                  lua/lifetime.lua, docs/reliability.md "How long data lasts")
{p}:conv:{cid}:turn       string  the bot-turn lock: one turn in flight per conversation
{p}:pending               zset    conversations with customer messages the bot has not handled
{p}:queue:{team}          zset    waiting conversations, score = priority band + queued time
{p}:agents                set     agent user names
{p}:agent:{name}          hash    account: password hash, role, display name, teams, capacity
{p}:agent:{name}:chats    set     conversations assigned to the agent
{p}:agent:{name}:sessions set     the agent's console session ids (ended together on logout)
{p}:presence              hash    agent -> online | away | offline
{p}:heartbeat             zset    agent -> last time a console of theirs was seen (ms)
{p}:session:{sid}         hash    a console session: user, csrf token
{p}:tickets               stream  messages customers left when nobody could answer (MAX_TICKETS)
{p}:stats:handling        list    handling times of recently closed chats (seconds)
{p}:stats:daily:{day}     hash    counters for the dashboard (conversations, handoffs, ...)
{p}:live                  channel hints that something changed; never the only copy of data
{p}:ratelimit:{what}:{id} string  fixed-window counters
{p}:faq:unanswered        stream  customer messages that ended in a fallback or escalation (masked)
{p}:faq:publish           string  the FAQ publish (or rollback) job in progress: one at a time
{p}:faq:job:{id}          hash    a publish job: kind, actor, state, result
{p}:faq:job:{id}:events   list    its progress events, oldest first, for the editor page to poll
{p}:audit:order-lookups   stream  the console's order panel lookups: agent, conversation, order,
                                  outcome (ORDER_LOOKUPS_KEPT)
{p}:followup:due          zset    follow-up id -> when it is due (ms), until it is sent or
                                  cancelled (handoff/email/follow_up.py)
{p}:followup:{fid}        hash    a follow-up email: conversation, due_at, by, state, mail id, the
                                  customer's rating (kept FOLLOW_UP_RATING_DAYS after sending);
                                  the conversation's `follow_up` field names its latest one
{p}:followup:{fid}:claim  string  the replica sending it now (FOLLOW_UP_LEASE)
{p}:lifetimes:pass        string  set once conversations stored before lifetimes got theirs
{p}:archive:due           zset    conversations written to since the archive copied them, by
                                  time of the write (handoff/archive/archiver.py)
{p}:archive:erased:{h}    string  an erased conversation, by a digest of its id (ERASED_KEPT): an
                                  archiver that read it before the erasure deletes what it
                                  copies afterwards
{p}:mail:caught           stream  the mail the local SMTP catcher caught (make run), for admins'
                                  Mail tab (CAUGHT_MAIL_KEPT; handoff/email/catcher.py)
{p}:mail:out:{id}         hash    an email to a customer: conversation, entry, to, headers, body,
                                  status (queued | sent | failed), attempts, last error (kept
                                  MAIL_KEPT after its last change; handoff/email/outbox.py)
{p}:mail:due              zset    mail id -> when its next attempt is due (ms), until it is sent
                                  or failed; a sending replica pushes it a lease ahead (MAIL_LEASE)
{p}:mail:answered:{hash}  string  an automatic answer went to this sender lately (MAIL_ANSWER_GAP):
                                  two auto-responders never answer each other for ever
{p}:mail:missed            zset    conversation -> when its customer will have been away long enough
                                  for the agent's messages they missed to go by email (ms; held a
                                  lease ahead while a replica sends; handoff/email/missed.py)
{p}:mail:in:{hash}        string  the new conversation an inbound mail (sender, Message-ID) became
                                  (as long as a ticket's chat is kept): a mail delivered twice is
                                  one ticket (email/inbound.py)
{p}:mail:taking:{hash}    string  a delivery of that mail is acting on it (a token, MAIL_LEASE):
                                  another delivery meanwhile is answered 451
{p}:tickets:taken         hash    ticket id -> the agent who took its conversation to answer it
                                  (POST /api/tickets/{id}/take; trimmed with the tickets)
{p}:conv:{cid}:sockets    zset    the customer's sockets by replica -> when one opened (ms), and
                                  "left" -> when the last one closed (handoff/email/away.py)
{p}:replica:{name}:seen   string  when that replica last beat (ms): its sockets' customers are
                                  here while it is fresh (email/away.py)

Rasa keeps its own keys in the same Redis, under a prefix the launcher derives from this one
(vocabulary/rasa_keys.py `rasa_key_prefix`): {p}:tracker:{cid} and {p}:lock:{cid} for an
alphanumeric prefix such as the default.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

# Closed conversations stay readable for agents and reports this long after their last write,
# then expire (the archive keeps them): the default of CLOSED_CONVERSATION_TTL_SECONDS, which a
# deployment shortens to fit its Redis (docs/deployment.md, "Capacity").
CLOSED_CONVERSATION_TTL = 30 * 24 * 3600
# How long an erased conversation's mark outlives the erasure: far longer than an archiver's
# round (ROUND_SECONDS plus its database's statement timeout), so no copy read before the
# erasure lands after the mark is gone.
ERASED_KEPT = 3600
# A conversation with the assistant lives this long after its last write, as long as a customer
# can come back to it: the default of RESUME_TOKEN_TTL_SECONDS, and what a conversation stored
# without its own lifetime gets. (Its client message ids live as long: a client may resend
# while it can resume.)
CONVERSATION_LIFETIME = 7 * 24 * 3600
# A transcript keeps at least this many entries (the default of MAX_TRANSCRIPT_ENTRIES): far
# more than any chat a person has, it only bounds a client writing at the rate limit for hours.
TRANSCRIPT_ENTRIES_KEPT = 5000
# A console session without use for this long must log in again (also the cookie's max age).
SESSION_TTL = 12 * 3600
# Daily dashboard counters are kept for 90 days.
STATS_TTL = 90 * 24 * 3600
# How many recent handling times the wait estimate averages over.
HANDLING_SAMPLES = 50
# Unanswered customer messages kept for editors (the oldest drop off beyond this).
UNANSWERED_KEPT = 2000
# The publish slot is held this long past the last sign of life of the job holding it, so a
# replica that died mid-publish frees it.
PUBLISH_SLOT_TTL = 60
# A finished publish job's progress stays readable for a day.
PUBLISH_JOB_TTL = 24 * 3600
# Order panel lookups kept for admins to read (the oldest drop off beyond this; about a month
# of a busy team's lookups).
ORDER_LOOKUPS_KEPT = 20000
# A follow-up's rating links work this many days after the email was sent (handoff/email/
# follow_up.py): long enough for a customer back from a holiday, and within the 30 days a
# closed conversation is kept after its last write (the email's event is one), so the rating
# still has a conversation to land in.
FOLLOW_UP_RATING_DAYS = 30
# A replica sending a due follow-up holds it this long: one that dies mid-send lets another
# replica send it after this, never two at once.
FOLLOW_UP_LEASE = 60
# Mails the local SMTP catcher keeps (the oldest drop off beyond this): a laptop's worth.
CAUGHT_MAIL_KEPT = 500
# An email to a customer and its delivery status stay readable this long after its last change
# (as long as a closed conversation), so the agent sees whether it went out.
MAIL_KEPT = 30 * 24 * 3600
# A replica sending a due email holds it this long (past any SMTP timeout): one that dies
# mid-send lets another replica retry it after this, never two at once.
MAIL_LEASE = 120
# At most one automatic answer (a new ticket's receipt, "attachments are not accepted") per
# sender in this many seconds: it breaks loops with auto-responders that ignore Auto-Submitted.
MAIL_ANSWER_GAP = 3600


@dataclass(frozen=True)
class Keys:
    """The names of the keys under one prefix, and the one lifetime a deployment sets that every
    conversation script applies (the closed retention: lua/lifetime.lua gets it from here)."""

    prefix: str = "ha"
    closed_lifetime: int = CLOSED_CONVERSATION_TTL

    def conversation(self, cid: str) -> str:
        return f"{self.prefix}:conv:{cid}"

    def log(self, cid: str) -> str:
        return f"{self.prefix}:conv:{cid}:log"

    def seen(self, cid: str) -> str:
        return f"{self.prefix}:conv:{cid}:seen"

    def turn_lock(self, cid: str) -> str:
        return f"{self.prefix}:conv:{cid}:turn"

    @property
    def pending(self) -> str:
        return f"{self.prefix}:pending"

    @property
    def archive_due(self) -> str:
        """Conversations written to since the archive last copied them, by time of the write
        (handoff/archive/archiver.py)."""
        return f"{self.prefix}:archive:due"

    def archive_erased(self, cid: str) -> str:
        """Set by an erasure (ERASED_KEPT), read by the archiver after each copy
        (handoff/archive/privacy.py, archiver.py). Named by a digest of the conversation's id:
        an erasure leaves nothing in Redis that names the conversation it erased."""
        digest = hashlib.sha256(cid.encode()).hexdigest()[:32]
        return f"{self.prefix}:archive:erased:{digest}"

    @property
    def lifetimes_pass(self) -> str:
        """Set once every conversation stored before lifetimes was given one
        (handoff/conversations/lifetimes.py)."""
        return f"{self.prefix}:lifetimes:pass"

    def queue(self, team: str) -> str:
        return f"{self.prefix}:queue:{team}"

    @property
    def agents(self) -> str:
        return f"{self.prefix}:agents"

    def agent(self, name: str) -> str:
        return f"{self.prefix}:agent:{name}"

    def agent_chats(self, name: str) -> str:
        return f"{self.prefix}:agent:{name}:chats"

    def agent_sessions(self, name: str) -> str:
        return f"{self.prefix}:agent:{name}:sessions"

    @property
    def presence(self) -> str:
        return f"{self.prefix}:presence"

    @property
    def heartbeat(self) -> str:
        return f"{self.prefix}:heartbeat"

    def session(self, sid: str) -> str:
        return f"{self.prefix}:session:{sid}"

    @property
    def tickets(self) -> str:
        return f"{self.prefix}:tickets"

    @property
    def handling_times(self) -> str:
        return f"{self.prefix}:stats:handling"

    def daily_stats(self, day: str) -> str:
        return f"{self.prefix}:stats:daily:{day}"

    @property
    def live(self) -> str:
        return f"{self.prefix}:live"

    def ratelimit(self, what: str, ident: str) -> str:
        return f"{self.prefix}:ratelimit:{what}:{ident}"

    @property
    def faq_unanswered(self) -> str:
        return f"{self.prefix}:faq:unanswered"

    @property
    def faq_publish(self) -> str:
        return f"{self.prefix}:faq:publish"

    def faq_job(self, job_id: str) -> str:
        return f"{self.prefix}:faq:job:{job_id}"

    def faq_job_events(self, job_id: str) -> str:
        return f"{self.prefix}:faq:job:{job_id}:events"

    @property
    def order_lookups(self) -> str:
        """The audit log of the console's order panel (handoff/console/orders.py)."""
        return f"{self.prefix}:audit:order-lookups"

    @property
    def caught_mail(self) -> str:
        """The local SMTP catcher's mail (handoff/email/catcher.py)."""
        return f"{self.prefix}:mail:caught"

    @property
    def follow_ups_due(self) -> str:
        return f"{self.prefix}:followup:due"

    def follow_up(self, fid: str) -> str:
        return f"{self.prefix}:followup:{fid}"

    def follow_up_claim(self, fid: str) -> str:
        return f"{self.prefix}:followup:{fid}:claim"

    def mail(self, mail_id: str) -> str:
        """An email to a customer and its delivery status (handoff/email/outbox.py)."""
        return f"{self.prefix}:mail:out:{mail_id}"

    @property
    def mail_due(self) -> str:
        return f"{self.prefix}:mail:due"

    def mail_answered(self, sender_hash: str) -> str:
        return f"{self.prefix}:mail:answered:{sender_hash}"

    @property
    def mail_missed(self) -> str:
        return f"{self.prefix}:mail:missed"

    def mail_received(self, message_hash: str) -> str:
        return f"{self.prefix}:mail:in:{message_hash}"

    def mail_taking(self, message_hash: str) -> str:
        return f"{self.prefix}:mail:taking:{message_hash}"

    @property
    def tickets_taken(self) -> str:
        return f"{self.prefix}:tickets:taken"

    def customer_sockets(self, cid: str) -> str:
        """Where the customer's sockets are, for email when they are away (email/away.py)."""
        return f"{self.prefix}:conv:{cid}:sockets"

    def replica_seen(self, name: str) -> str:
        """When a replica holding customer sockets last beat (email/away.py)."""
        return f"{self.prefix}:replica:{name}:seen"

    @property
    def none(self) -> str:
        """A key that never holds data, for script slots that do not apply to a move."""
        return f"{self.prefix}:none"
