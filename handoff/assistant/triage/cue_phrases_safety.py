"""Cue phrases for messages where someone, or the shop, may come to harm: crisis, risk, distress.

Each table maps a cue's name to its ``Matcher`` patterns (see :mod:`.cue_tokens`),
all matched on the lowercased message. Kept deliberately narrow: a legal *threat*, not any
mention of a lawyer; a *burn injury*, not "burnt orange". Which label each cue raises is in
:data:`.cues.CUE_LABELS`.
"""

from __future__ import annotations

from .cue_tokens import Pattern, gap, in_

# --- self-harm ----------------------------------------------------------------------------

# Any hint of self-harm is a crisis: the highest priority, and the customer is told at once where
# immediate help is. A false alarm costs an agent a minute; a miss can cost far more.
CRISIS_PATTERNS: dict[str, list[Pattern]] = {
    "self_harm_or_crisis": [
        [in_("kill killing harm harming hurt hurting"), in_("myself")],
        [in_("suicidal suicide")],
        [in_("end ending"), in_("it"), in_("all")],
        [in_("end ending"), in_("my"), in_("life")],
        [in_("want wanna"), in_("to", op="?"), in_("die")],
        [in_("want wanna"), in_("to", op="?"), in_("be"), in_("here"), in_("anymore any")],
        [in_("self"), in_("-", op="?"), in_("harm")],
        [in_("no"), in_("point"), in_("in", op="?"), in_("going living")],
        [in_("no"), in_("reason"), in_("to"), in_("live")],
        [in_("better"), in_("off"), in_("without"), in_("me")],
        [in_("nobody noone"), in_("would"), in_("miss")],
        [in_("no"), in_("one"), in_("would"), in_("miss")],
        [in_("do"), in_("n't nt not"), in_("want wanna"), in_("to", op="?"), in_("live")],
        [in_("dont"), in_("want wanna"), in_("to", op="?"), in_("live")],
        # "i can't go on (like this / anymore)", not "can't go on holiday".
        [
            in_("ca can cant"),
            in_("n't nt not", op="?"),
            in_("go"),
            in_("on"),
            in_("anymore any like living"),
        ],
        [in_("ca can cant"), in_("n't nt not", op="?"), in_("go"), in_("on"), {"IS_PUNCT": True}],
        [in_("nothing"), in_("to"), in_("live")],
        [in_("not"), in_("worth"), in_("living")],
        [in_("wish"), in_("i"), in_("was were 'd"), in_("dead")],
        [in_("wish"), in_("i"), in_("was were"), in_("n't nt not never"), in_("here alive born")],
        [in_("take taking"), in_("my"), in_("own", op="?"), in_("life")],
        [in_("give giving"), in_("up"), in_("on"), in_("life living")],
        [in_("kms unalive")],
    ],
}

# --- legal, chargeback, injury and fraud ---------------------------------------------------

_BANK = in_("bank banks paypal amex visa mastercard card credit klarna issuer provider barclaycard")
_OWNER = in_("my his her our their the")
_BODY_PART = in_(
    "hand hands finger fingers thumb arm arms leg legs foot feet face head neck back eye eyes"
    " skin lip lips mouth knee wrist chest toe toes son daughter baby child kid kids wife"
    " husband partner mum mom dad dog cat toddler"
)
_SELF = in_("myself himself herself themselves me him us")
_INJURE = "hurt cut sliced injured stabbed"
_BURN = "burned burnt burn burns burning scalded scald"
_DISPUTE = in_("dispute disputed disputing disputes")
_REGULATOR = in_(
    "trading ftc bbb police ombudsman watchdog regulator citizens consumer cma asa authorities"
    " attorney council bank"
)

RISK_PATTERNS: dict[str, list[Pattern]] = {
    "legal_threat": [
        [in_("lawyer lawyers solicitor solicitors attorney attorneys")],
        [in_("lawsuit litigation ombudsman")],
        # "sue" alone is also a first name, so it needs an object or a future tense.
        [in_("sue"), in_("you u your ur them the this harbor for")],
        [in_("to gonna will 'll ll shall and could would"), in_("sue")],
        [in_("suing sued")],
        [in_("legal"), in_("action proceedings advice claim route team")],
        [in_("small"), in_("claims")],
        [in_("trading"), in_("standards")],
        [in_("to in into"), in_("the", op="?"), in_("court courts")],
        [in_("letter"), in_("before"), in_("action")],
        [in_("breach"), in_("of"), in_("contract")],
        [in_("legally")],
        [in_("police ftc bbb")],
        [
            in_("report reporting reported"),
            in_("you u this it them harbor", op="?"),
            in_("lot", op="?"),
            in_("to"),
            in_("the", op="?"),
            _REGULATOR,
        ],
    ],
    "chargeback": [
        [in_("chargeback chargebacks charge-back")],
        [in_("charge"), in_("-", op="?"), in_("back")],
        [in_("section"), in_("75")],
        [in_("claw clawing"), gap(2), in_("back")],
        [_DISPUTE, gap(6), _BANK],
        [_BANK, gap(3), _DISPUTE],
        [in_("reverse reversing reversed"), gap(4), in_("through via with"), _BANK],
        [_BANK, gap(3), in_("investigating refunding reversing reclaiming chasing")],
        [in_("investigating"), in_("the this my"), in_("payment charge transaction order")],
        # A threat ("i'll call my bank"), not a question ("should i call my bank?").
        [
            in_("ll 'll will gonna ill to just have 've ve already now m 'm am"),
            in_("call ring phone contact calling contacting called contacted rang phoned"),
            in_("my the"),
            in_("bank paypal amex card credit"),
        ],
    ],
    "injury_or_hazard": [
        [in_("caught catch catches catching"), in_("fire alight")],
        [in_("on"), in_("fire")],
        [in_("burst bursts"), in_("into"), in_("flames flame")],
        [in_("flames")],
        [in_(_BURN), _SELF],
        [in_(_BURN), _OWNER, _BODY_PART],
        [in_("burning"), in_("smell plastic rubber wire wires")],
        [in_("smell"), in_("of"), in_("burning")],
        [in_("electric electrical"), in_("shock shocks")],
        [
            in_("got get gave giving gets"),
            in_("a an me my", op="?"),
            in_("son daughter kid child", op="?"),
            in_("an a", op="?"),
            in_("shock"),
            in_("from off touching"),
        ],
        [in_("shocked"), _SELF],
        [in_("shocked"), _OWNER, _BODY_PART],
        [in_("exploded explode explodes exploding explosion")],
        [in_("blew blown"), in_("up off")],
        [in_("started starts began was is keeps"), in_("smoking")],
        [in_("smoke"), in_("coming came pouring billowing everywhere out")],
        [in_("sparks sparked sparking sparkes")],
        [in_("scorched scorch scorching")],
        [in_("fire"), in_("hazard risk")],
        [in_("choking"), in_("hazard")],
        [in_("choked choking")],
        [in_("injured injury injuries ambulance a&e")],
        [in_("needed need needs getting got had"), in_("stitches")],
        [in_(_INJURE), _SELF],
        [in_(_INJURE), _OWNER, _BODY_PART],
        [in_("allergic"), in_("reaction")],
        [in_("anaphylaxis anaphylactic poisoned")],
        [in_("food"), in_("poisoning")],
        [in_("exposed bare live"), in_("wire wires wiring")],
        [in_("melted melting"), gap(2), in_("plug socket sockets cable wire wires lead charger")],
        [in_("overheated overheating overheats")],
        [in_("asthma")],
        [in_("gas"), in_("smell leak leaking")],
        [in_("smell"), in_("of"), in_("gas")],
        [in_("got became been was"), in_("really very so", op="?"), in_("sick ill"), in_("after")],
        [in_("made"), in_("me him her us them my", op="?"), _BODY_PART, in_("sick ill")],
        [in_("made"), _SELF, in_("sick ill")],
        [
            in_("is 's s its are was"),
            in_("really very so extremely actually genuinely", op="?"),
            in_("dangerous unsafe hazardous"),
        ],
    ],
    "fraud_or_account_takeover": [
        [in_("fraud fraudulent fraudster fraudsters unauthorised unauthorized")],
        [in_("hacked hacker hackers compromised phishing")],
        [in_("identity"), in_("theft stolen")],
        [
            in_("not n't nt never"),
            in_("authorise authorize authorised authorized recognise recognize approve approved"),
        ],
        [
            in_("not n't nt never"),
            in_("make made place placed"),
            in_("this that these those any"),
            in_(
                "payment payments purchase purchases charge charges order orders transaction"
                " transactions"
            ),
        ],
        [in_("was"), in_("nt n't not"), in_("me")],
        [
            in_("not n't nt never"),
            in_("buy bought order ordered place placed"),
            in_("any"),
            in_("of"),
        ],
        [in_("account"), gap(2), in_("taken"), in_("over")],
        [in_("know"), in_("nothing"), in_("about")],
        [
            in_("someone somebody stranger hacker hackers fraudster thief"),
            in_("has had is else have 's s", op="?"),
            in_("logged accessed hacked using used spent got gotten"),
            in_("my into in our"),
        ],
        [
            in_("stole stolen steal cloned skimmed"),
            gap(2),
            in_("card cards details identity account password points"),
        ],
        [in_("card cards details identity account"), gap(2), in_("stolen cloned skimmed")],
        [in_("pretending claiming pretended posing"), in_("to"), in_("be")],
        [in_("fake"), in_("website site email text call version")],
        [in_("password email pin"), in_("has have was been got had", op="{1,2}"), in_("changed")],
    ],
}

# --- distress -----------------------------------------------------------------------------

_RELATIVE = in_(
    "mum mom mother dad father husband wife son daughter partner grandad grandpa grandma nan"
    " nana granny brother sister baby friend grandmother grandfather"
)

DISTRESS_PATTERNS: dict[str, list[Pattern]] = {
    "panic_or_abuse": [
        [in_("panic"), in_("attack attacks")],
        [in_("domestic"), in_("violence abuse")],
    ],
    "in_tears_or_desperate": [
        [
            in_(
                "tears crying cried sobbing desperate desperately panicking panicked terrified"
                " heartbroken begging devastated distraught traumatised traumatized bereaved"
                " bereavement widowed frightened"
            )
        ],
        [in_("ca can cannot"), in_("n't nt not", op="?"), in_("cope")],
        [in_("cant"), in_("cope")],
        [in_("passed"), in_("away")],
        [in_("breaking"), in_("point down")],
        [in_("overwhelmed")],
        [in_("so really"), in_("upset")],
        [in_("take"), in_("much", op="?"), in_("more"), in_("of"), in_("this")],
        [in_("wits"), in_("end")],
        [in_("m am 'm"), in_("in"), in_("bits pieces")],
        [in_("know"), in_("what who"), in_("else")],
        [in_("nowhere nobody"), in_("else"), in_("to"), in_("turn")],
    ],
    "vulnerable_situation": [
        [_RELATIVE, gap(2), in_("died dying passed")],
        [in_("dying terminally terminal"), gap(1), _RELATIVE],
        [in_("depression depressed anxiety evicted eviction evict homeless bailiffs")],
        [in_("mental"), in_("health")],
        [in_("debt"), in_("collectors")],
        [
            in_("m am 'm"),
            in_("so really very too", op="?"),
            in_("disabled pregnant blind deaf elderly vulnerable autistic housebound widow"),
        ],
        [
            in_("m am 'm"),
            in_("so really very too absolutely", op="?"),
            in_("scared anxious stressed frightened"),
        ],
    ],
}
