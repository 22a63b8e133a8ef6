"""Hand-written cues for the phrasings where a miss is expensive and the wording is predictable.

A few hundred labelled messages are not enough for a classifier to be sure about every way of
asking for a person or threatening a chargeback, yet those are exactly the messages that must
never stay with the bot. Each cue below is a spaCy ``Matcher`` pattern kept deliberately
narrow (a legal *threat*, not any mention of a lawyer; a *burn injury*, not "burnt orange").
When a cue fires, its label scores at least :data:`CUE_SCORE`, which is above every tuned
threshold. Anything vaguer is left to the ``textcat_multilabel`` classifier.

The patterns live here rather than in the saved model so that the pipeline on disk only
names the ``harbor_triage_cues`` factory: loading a model always uses the patterns of the
installed code, and changing them changes the training fingerprint.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from spacy.language import Language
from spacy.matcher import Matcher
from spacy.tokens import Doc

from .reasons import ANGER, CRISIS, DISTRESS, FRUSTRATION, HUMAN_REQUEST, RISK

FACTORY = "harbor_triage_cues"
CUE_SCORE = 0.9
DOC_ATTR = "triage_cues"

Pattern = list[dict[str, Any]]


def _in(words: str, op: str | None = None) -> dict[str, Any]:
    """One token whose lowercase form is one of the space-separated ``words``."""
    token: dict[str, Any] = {"LOWER": {"IN": words.split()}}
    if op:
        token["OP"] = op
    return token


def _fuzzy(words: str) -> dict[str, Any]:
    # One edit catches "humn", "agnet", "persn" without letting "human" match "woman".
    return {"LOWER": {"FUZZY1": {"IN": words.split()}}}


def _gap(most: int) -> dict[str, Any]:
    return {"OP": f"{{0,{most}}}"}


# --- asking for a person ------------------------------------------------------------------

_CONTACT_VERBS = "speak talk chat speek spek spaek tlak tak spk tallk"
_PERSON_WORDS = "human person agent operator representative manager supervisor"
_PERSON = _fuzzy(_PERSON_WORDS)
_PERSON_LIKE = _in(f"{_PERSON_WORDS} humans people being someone somebody humen humn persn")
_PERSON_OR_TEAM = _in(
    f"{_PERSON_WORDS} humans people someone somebody anyone anybody rep advisor adviser staff"
    " colleague being service services support team sales complaints humen humn hooman persn"
    " agnet"
)
_FILLER = _in(
    "a an the some your ur real actual live proper human customer service services care"
    " support member of staff senior another different someone somebody 1 one",
    op="{0,4}",
)
_TO = _in("to with 2 w", op="?")

HUMAN_PATTERNS: dict[str, list[Pattern]] = {
    "asks_to_speak_to_person": [[_in(_CONTACT_VERBS), _TO, _FILLER, _PERSON_OR_TEAM]],
    "asks_to_be_transferred": [
        [
            _in("connect transfer put pass escalate forward redirect send"),
            _in("me this it us", op="?"),
            _in("through over on", op="?"),
            _in("to with"),
            _FILLER,
            _PERSON_OR_TEAM,
        ],
        [_in("in"), _in("touch"), _in("with"), _FILLER, _PERSON_OR_TEAM],
    ],
    "wants_a_person": [
        [
            _in("get want need give gimme bring fetch find prefer"),
            _in("me", op="?"),
            _in("a an the some your to"),
            _in("real actual live proper human", op="*"),
            _PERSON,
        ]
    ],
    "real_person": [[_in("real actual live proper"), _PERSON_LIKE]],
    "asks_for_callback": [
        [_in("callback call-back")],
        [_in("call ring phone"), _in("me"), _in("back")],
        [
            _in("someone somebody manager supervisor team agent person"),
            _in("to can could", op="?"),
            _in("call ring phone contact email"),
            _in("me us"),
        ],
    ],
    "asks_for_phone_number": [
        [_in("customer"), _in("service services care"), _gap(2), _in("number")],
        [_in("number"), _in("to i", op="?"), _in("can", op="?"), _in("call ring reach")],
    ],
    "asks_how_to_reach_person": [[_in("reach contact"), _FILLER, _PERSON_OR_TEAM]],
}

# A bare "agent pls" or "HUMAN" is a request too, but only when nothing else is said.
_BARE_FILLER = _in(
    "please pls plz now asap a an real live actual i want need talk to speak me get give human"
    " agent person thanks ty hi hello hey ! ? .",
    op="*",
)
_BARE_PATTERN: Pattern = [_BARE_FILLER, _fuzzy(f"{_PERSON_WORDS} humans people"), _BARE_FILLER]

# --- legal, chargeback, injury and fraud ---------------------------------------------------

_BANK = _in("bank banks paypal amex visa mastercard card credit klarna issuer provider barclaycard")
_OWNER = _in("my his her our their the")
_BODY_PART = _in(
    "hand hands finger fingers thumb arm arms leg legs foot feet face head neck back eye eyes"
    " skin lip lips mouth knee wrist chest toe toes son daughter baby child kid kids wife"
    " husband partner mum mom dad dog cat toddler"
)
_SELF = _in("myself himself herself themselves me him us")
_INJURE = "hurt cut sliced injured stabbed"
_BURN = "burned burnt burn burns burning scalded scald"
_DISPUTE = _in("dispute disputed disputing disputes")
_REGULATOR = _in(
    "trading ftc bbb police ombudsman watchdog regulator citizens consumer cma asa authorities"
    " attorney council bank"
)

RISK_PATTERNS: dict[str, list[Pattern]] = {
    "legal_threat": [
        [_in("lawyer lawyers solicitor solicitors attorney attorneys")],
        [_in("lawsuit litigation ombudsman")],
        # "sue" alone is also a first name, so it needs an object or a future tense.
        [_in("sue"), _in("you u your ur them the this harbor for")],
        [_in("to gonna will 'll ll shall and could would"), _in("sue")],
        [_in("suing sued")],
        [_in("legal"), _in("action proceedings advice claim route team")],
        [_in("small"), _in("claims")],
        [_in("trading"), _in("standards")],
        [_in("to in into"), _in("the", op="?"), _in("court courts")],
        [_in("letter"), _in("before"), _in("action")],
        [_in("breach"), _in("of"), _in("contract")],
        [_in("legally")],
        [_in("police ftc bbb")],
        [
            _in("report reporting reported"),
            _in("you u this it them harbor", op="?"),
            _in("lot", op="?"),
            _in("to"),
            _in("the", op="?"),
            _REGULATOR,
        ],
    ],
    "chargeback": [
        [_in("chargeback chargebacks charge-back")],
        [_in("charge"), _in("-", op="?"), _in("back")],
        [_in("section"), _in("75")],
        [_in("claw clawing"), _gap(2), _in("back")],
        [_DISPUTE, _gap(6), _BANK],
        [_BANK, _gap(3), _DISPUTE],
        [_in("reverse reversing reversed"), _gap(4), _in("through via with"), _BANK],
        [_BANK, _gap(3), _in("investigating refunding reversing reclaiming chasing")],
        [_in("investigating"), _in("the this my"), _in("payment charge transaction order")],
        # A threat ("i'll call my bank"), not a question ("should i call my bank?").
        [
            _in("ll 'll will gonna ill to just have 've ve already now m 'm am"),
            _in("call ring phone contact calling contacting called contacted rang phoned"),
            _in("my the"),
            _in("bank paypal amex card credit"),
        ],
    ],
    "injury_or_hazard": [
        [_in("caught catch catches catching"), _in("fire alight")],
        [_in("on"), _in("fire")],
        [_in("burst bursts"), _in("into"), _in("flames flame")],
        [_in("flames")],
        [_in(_BURN), _SELF],
        [_in(_BURN), _OWNER, _BODY_PART],
        [_in("burning"), _in("smell plastic rubber wire wires")],
        [_in("smell"), _in("of"), _in("burning")],
        [_in("electric electrical"), _in("shock shocks")],
        [
            _in("got get gave giving gets"),
            _in("a an me my", op="?"),
            _in("son daughter kid child", op="?"),
            _in("an a", op="?"),
            _in("shock"),
            _in("from off touching"),
        ],
        [_in("shocked"), _SELF],
        [_in("shocked"), _OWNER, _BODY_PART],
        [_in("exploded explode explodes exploding explosion")],
        [_in("blew blown"), _in("up off")],
        [_in("started starts began was is keeps"), _in("smoking")],
        [_in("smoke"), _in("coming came pouring billowing everywhere out")],
        [_in("sparks sparked sparking sparkes")],
        [_in("scorched scorch scorching")],
        [_in("fire"), _in("hazard risk")],
        [_in("choking"), _in("hazard")],
        [_in("choked choking")],
        [_in("injured injury injuries ambulance a&e")],
        [_in("needed need needs getting got had"), _in("stitches")],
        [_in(_INJURE), _SELF],
        [_in(_INJURE), _OWNER, _BODY_PART],
        [_in("allergic"), _in("reaction")],
        [_in("anaphylaxis anaphylactic poisoned")],
        [_in("food"), _in("poisoning")],
        [_in("exposed bare live"), _in("wire wires wiring")],
        [_in("melted melting"), _gap(2), _in("plug socket sockets cable wire wires lead charger")],
        [_in("overheated overheating overheats")],
        [_in("asthma")],
        [_in("gas"), _in("smell leak leaking")],
        [_in("smell"), _in("of"), _in("gas")],
        [_in("got became been was"), _in("really very so", op="?"), _in("sick ill"), _in("after")],
        [_in("made"), _in("me him her us them my", op="?"), _BODY_PART, _in("sick ill")],
        [_in("made"), _SELF, _in("sick ill")],
        [
            _in("is 's s its are was"),
            _in("really very so extremely actually genuinely", op="?"),
            _in("dangerous unsafe hazardous"),
        ],
    ],
    "fraud_or_account_takeover": [
        [_in("fraud fraudulent fraudster fraudsters unauthorised unauthorized")],
        [_in("hacked hacker hackers compromised phishing")],
        [_in("identity"), _in("theft stolen")],
        [
            _in("not n't nt never"),
            _in("authorise authorize authorised authorized recognise recognize approve approved"),
        ],
        [
            _in("not n't nt never"),
            _in("make made place placed"),
            _in("this that these those any"),
            _in(
                "payment payments purchase purchases charge charges order orders transaction"
                " transactions"
            ),
        ],
        [_in("was"), _in("nt n't not"), _in("me")],
        [
            _in("not n't nt never"),
            _in("buy bought order ordered place placed"),
            _in("any"),
            _in("of"),
        ],
        [_in("account"), _gap(2), _in("taken"), _in("over")],
        [_in("know"), _in("nothing"), _in("about")],
        [
            _in("someone somebody stranger hacker hackers fraudster thief"),
            _in("has had is else have 's s", op="?"),
            _in("logged accessed hacked using used spent got gotten"),
            _in("my into in our"),
        ],
        [
            _in("stole stolen steal cloned skimmed"),
            _gap(2),
            _in("card cards details identity account password points"),
        ],
        [_in("card cards details identity account"), _gap(2), _in("stolen cloned skimmed")],
        [_in("pretending claiming pretended posing"), _in("to"), _in("be")],
        [_in("fake"), _in("website site email text call version")],
        [_in("password email pin"), _in("has have was been got had", op="{1,2}"), _in("changed")],
    ],
}

_RELATIVE = _in(
    "mum mom mother dad father husband wife son daughter partner grandad grandpa grandma nan"
    " nana granny brother sister baby friend grandmother grandfather"
)

# --- distress -----------------------------------------------------------------------------

# Any hint of self-harm is a crisis: the highest priority, and the customer is told at once where
# immediate help is. A false alarm costs an agent a minute; a miss can cost far more.
CRISIS_PATTERNS: dict[str, list[Pattern]] = {
    "self_harm_or_crisis": [
        [_in("kill killing harm harming hurt hurting"), _in("myself")],
        [_in("suicidal suicide")],
        [_in("end ending"), _in("it"), _in("all")],
        [_in("end ending"), _in("my"), _in("life")],
        [_in("want wanna"), _in("to", op="?"), _in("die")],
        [_in("want wanna"), _in("to", op="?"), _in("be"), _in("here"), _in("anymore any")],
        [_in("self"), _in("-", op="?"), _in("harm")],
        [_in("no"), _in("point"), _in("in", op="?"), _in("going living")],
        [_in("no"), _in("reason"), _in("to"), _in("live")],
        [_in("better"), _in("off"), _in("without"), _in("me")],
        [_in("nobody noone"), _in("would"), _in("miss")],
        [_in("no"), _in("one"), _in("would"), _in("miss")],
        [_in("do"), _in("n't nt not"), _in("want wanna"), _in("to", op="?"), _in("live")],
        [_in("dont"), _in("want wanna"), _in("to", op="?"), _in("live")],
        # "i can't go on (like this / anymore)", not "can't go on holiday".
        [
            _in("ca can cant"),
            _in("n't nt not", op="?"),
            _in("go"),
            _in("on"),
            _in("anymore any like living"),
        ],
        [_in("ca can cant"), _in("n't nt not", op="?"), _in("go"), _in("on"), {"IS_PUNCT": True}],
        [_in("nothing"), _in("to"), _in("live")],
        [_in("not"), _in("worth"), _in("living")],
        [_in("wish"), _in("i"), _in("was were 'd"), _in("dead")],
        [_in("wish"), _in("i"), _in("was were"), _in("n't nt not never"), _in("here alive born")],
        [_in("take taking"), _in("my"), _in("own", op="?"), _in("life")],
        [_in("give giving"), _in("up"), _in("on"), _in("life living")],
        [_in("kms unalive")],
    ],
}

DISTRESS_PATTERNS: dict[str, list[Pattern]] = {
    "panic_or_abuse": [
        [_in("panic"), _in("attack attacks")],
        [_in("domestic"), _in("violence abuse")],
    ],
    "in_tears_or_desperate": [
        [
            _in(
                "tears crying cried sobbing desperate desperately panicking panicked terrified"
                " heartbroken begging devastated distraught traumatised traumatized bereaved"
                " bereavement widowed frightened"
            )
        ],
        [_in("ca can cannot"), _in("n't nt not", op="?"), _in("cope")],
        [_in("cant"), _in("cope")],
        [_in("passed"), _in("away")],
        [_in("breaking"), _in("point down")],
        [_in("overwhelmed")],
        [_in("so really"), _in("upset")],
        [_in("take"), _in("much", op="?"), _in("more"), _in("of"), _in("this")],
        [_in("wits"), _in("end")],
        [_in("m am 'm"), _in("in"), _in("bits pieces")],
        [_in("know"), _in("what who"), _in("else")],
        [_in("nowhere nobody"), _in("else"), _in("to"), _in("turn")],
    ],
    "vulnerable_situation": [
        [_RELATIVE, _gap(2), _in("died dying passed")],
        [_in("dying terminally terminal"), _gap(1), _RELATIVE],
        [_in("depression depressed anxiety evicted eviction evict homeless bailiffs")],
        [_in("mental"), _in("health")],
        [_in("debt"), _in("collectors")],
        [
            _in("m am 'm"),
            _in("so really very too", op="?"),
            _in("disabled pregnant blind deaf elderly vulnerable autistic housebound widow"),
        ],
        [
            _in("m am 'm"),
            _in("so really very too absolutely", op="?"),
            _in("scared anxious stressed frightened"),
        ],
    ],
}

# --- frustration with the bot ------------------------------------------------------------

_BOT = _in("bot chatbot robot ai assistant machine system chat")
_BOT_OR_ANSWERS = _in(
    "bot chatbot robot ai assistant machine system chat faq faqs articles answers answer links"
    " link suggestions options"
)
_BAD = _in(
    "useless stupid pointless dumb rubbish hopeless crap terrible awful worthless broken thick"
    " garbage"
)

FRUSTRATION_PATTERNS: dict[str, list[Pattern]] = {
    "bot_is_useless": [
        [_BAD, _BOT],
        [_BOT_OR_ANSWERS, _in("is are 's s just so really were", op="{0,2}"), _BAD],
        [_BOT, _in("does do did", op="?"), _in("n't nt not"), _in("understand help work get")],
    ],
    "repeating_itself": [
        [_in("repeating repeat"), _in("yourself urself itself")],
        [
            _in("you u it bot chatbot this which"),
            _in("keep keeps kept"),
            _in("repeating saying sending asking giving telling looping"),
        ],
        [_in("same"), _in("answer answers reply response link links")],
        [_in("round around going"), _in("in"), _in("circles circle")],
        [_in("in stuck"), _in("a the", op="?"), _in("loop")],
        [_in("keeps keep just is its 's"), _in("looping")],
    ],
    "already_told_you": [
        [
            _in("already"),
            _in("told said explained gave given asked answered tried done did provided"),
            _in("you u that this all twice everything"),
        ],
        [_in("just"), _in("told said explained gave asked"), _in("you u that")],
        [_in("how"), _in("many"), _in("times")],
        [
            _in("third 3rd fourth 4th fifth 5th tenth"),
            _in("time"),
            _in("i now asking contacting chatting writing emailing calling messaging this that"),
        ],
        [
            _in("asked told explained contacted emailed rang called said chased messaged"),
            _gap(4),
            _in("times twice"),
        ],
    ],
    "not_being_helped": [
        [
            _in("you u ur bot it"),
            _in("re 're r are is 's s do does", op="?"),
            _in("not n't nt"),
            _in("listening understanding reading helping answering listen understand read"),
        ],
        [_in("not n't nt"), _in("helpful")],
        [_in("not"), _in("what"), _in("i"), _in("asked meant said wanted need")],
        [_in("waste"), _in("of"), _in("time my")],
        [_in("going getting got"), _in("nowhere")],
        [_in("brick"), _in("wall")],
        [_in("read"), _in("what"), _in("i"), _in("wrote said typed asked")],
        [_in("read"), _in("my"), _in("message messages question")],
        [_in("passed bounced pushed"), _in("around about between")],
        [_in("fed"), _in("up")],
        [_in("i"), _in("give"), _in("up")],
    ],
}

# --- anger -------------------------------------------------------------------------------

ANGER_PATTERNS: dict[str, list[Pattern]] = {
    "profanity": [
        [
            _in(
                "fuck fucking fucked fuckin f***ing f*** f**k fck fking fkn wtf ffs shit shite"
                " shitty bullshit bollocks bastards bastard twat twats arseholes assholes"
                " wankers piss pissed"
            )
        ],
    ],
    "outrage": [
        [
            _in(
                "furious livid fuming raging seething outraged infuriated infuriating enraged"
                " incandescent disgraceful disgrace appalling appalled thieves crooks cowboys"
                " shambles"
            )
        ],
        [_in("daylight"), _in("robbery")],
        [_in("the to"), _in("hell")],
        [_in("you"), _in("dare")],
        [_in("1 one zero"), _in("-", op="?"), _in("star stars")],
        [_in("disgusted unacceptable pathetic outrageous shambolic")],
        [
            _in("you u your ur stop"),
            _in("are 're re r", op="?"),
            _in("lying lied liars lies idiots idiot morons clowns muppets cheats"),
        ],
        [
            _in("so really extremely very absolutely beyond bloody fucking"),
            _in("angry mad cross"),
        ],
        [_in("worst"), _gap(2), _in("service company experience shop delivery business")],
        [
            _in("never"),
            _in("ordering buying shopping using order buy shop use"),
            _gap(3),
            _in("again"),
        ],
        [
            _in("is 's are re 're what beyond"),
            _in("a an such", op="?"),
            _in("absolute total complete utter bloody fucking", op="?"),
            _in("joke farce scam con"),
        ],
        [_in("rip"), _in("-", op="?"), _in("off")],
    ],
}

CUE_LABELS: dict[str, str] = {
    **{name: HUMAN_REQUEST for name in HUMAN_PATTERNS},
    "bare_request": HUMAN_REQUEST,
    **{name: RISK for name in RISK_PATTERNS},
    **{name: CRISIS for name in CRISIS_PATTERNS},
    **{name: DISTRESS for name in DISTRESS_PATTERNS},
    **{name: FRUSTRATION for name in FRUSTRATION_PATTERNS},
    **{name: ANGER for name in ANGER_PATTERNS},
}

# "i don't need to speak to anyone" is not a request; "why can't i speak to someone" is.
_NEGATORS = frozenset({"not", "n't", "nt", "never", "no", "dont", "without"})
_MODALS = frozenset({"ca", "can", "could", "wo", "why", "wont", "cant", "couldnt"})
_NEGATABLE = frozenset({HUMAN_REQUEST, ANGER})


def _negated(doc: Doc, start: int) -> bool:
    for i in range(max(0, start - 4), start):
        if doc[i].lower_ in _NEGATORS and not (i > 0 and doc[i - 1].lower_ in _MODALS):
            return True
    return False


def _asks_if_bot_is_human(doc: Doc, start: int) -> bool:
    # "are you a real person?" probes the bot; "get me a real person" asks for one.
    return any(doc[i].lower_ in {"you", "u"} for i in range(max(0, start - 2), start))


def _is_bare_request(doc: Doc, matches: Sequence[tuple[int, int, int]]) -> bool:
    words = [t.i for t in doc if not (t.is_punct or t.is_space)]
    if not words or len(words) > 5:
        return False
    return any(start <= words[0] and end > words[-1] for _, start, end in matches)


class TriageCues:
    """Pipeline component: stores the names of the cues found in ``doc._.triage_cues``."""

    def __init__(self, nlp: Language, name: str = FACTORY) -> None:
        self.name = name
        self._matcher = Matcher(nlp.vocab, validate=True)
        self._bare = Matcher(nlp.vocab, validate=True)
        for group in (
            HUMAN_PATTERNS,
            RISK_PATTERNS,
            CRISIS_PATTERNS,
            DISTRESS_PATTERNS,
            FRUSTRATION_PATTERNS,
            ANGER_PATTERNS,
        ):
            for cue, patterns in group.items():
                self._matcher.add(cue, patterns)
        self._bare.add("bare_request", [_BARE_PATTERN])

    def __call__(self, doc: Doc) -> Doc:
        found: set[str] = set()
        for match_id, start, _end in self._matcher(doc):
            cue = doc.vocab.strings[match_id]
            if CUE_LABELS[cue] in _NEGATABLE and _negated(doc, start):
                continue
            if cue == "real_person" and _asks_if_bot_is_human(doc, start):
                continue
            found.add(cue)
        if _is_bare_request(doc, self._bare(doc)):
            found.add("bare_request")
        doc._.set(DOC_ATTR, tuple(sorted(found)))
        return doc


if not Doc.has_extension(DOC_ATTR):
    Doc.set_extension(DOC_ATTR, default=())


@Language.factory(FACTORY)
def make_triage_cues(nlp: Language, name: str) -> TriageCues:
    return TriageCues(nlp, name)


def cue_scores(cues: Sequence[str]) -> dict[str, float]:
    """The floor each label gets from the cues found in a message."""
    scores: dict[str, float] = {}
    for cue in cues:
        scores[CUE_LABELS[cue]] = CUE_SCORE
    return scores
