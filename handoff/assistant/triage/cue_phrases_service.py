"""Cue phrases for what the customer makes of the service: asking for a person, frustration with
the bot, anger.

Each table maps a cue's name to its ``Matcher`` patterns (see :mod:`.cue_tokens`),
all matched on the lowercased message. Which label each cue raises is in
:data:`.cues.CUE_LABELS`; :mod:`.cue_matcher` drops a request for a
person or an angry word that is negated ("i don't need to speak to anyone").
"""

from __future__ import annotations

from .cue_tokens import Pattern, fuzzy, gap, in_

# --- asking for a person ------------------------------------------------------------------

_CONTACT_VERBS = "speak talk chat speek spek spaek tlak tak spk tallk"
_PERSON_WORDS = "human person agent operator representative manager supervisor"
_PERSON = fuzzy(_PERSON_WORDS)
_PERSON_LIKE = in_(f"{_PERSON_WORDS} humans people being someone somebody humen humn persn")
_PERSON_OR_TEAM = in_(
    f"{_PERSON_WORDS} humans people someone somebody anyone anybody rep advisor adviser staff"
    " colleague being service services support team sales complaints humen humn hooman persn"
    " agnet"
)
_FILLER = in_(
    "a an the some your ur real actual live proper human customer service services care"
    " support member of staff senior another different someone somebody 1 one",
    op="{0,4}",
)
_TO = in_("to with 2 w", op="?")

HUMAN_PATTERNS: dict[str, list[Pattern]] = {
    "asks_to_speak_to_person": [[in_(_CONTACT_VERBS), _TO, _FILLER, _PERSON_OR_TEAM]],
    "asks_to_be_transferred": [
        [
            in_("connect transfer put pass escalate forward redirect send"),
            in_("me this it us", op="?"),
            in_("through over on", op="?"),
            in_("to with"),
            _FILLER,
            _PERSON_OR_TEAM,
        ],
        [in_("in"), in_("touch"), in_("with"), _FILLER, _PERSON_OR_TEAM],
    ],
    "wants_a_person": [
        [
            in_("get want need give gimme bring fetch find prefer"),
            in_("me", op="?"),
            in_("a an the some your to"),
            in_("real actual live proper human", op="*"),
            _PERSON,
        ]
    ],
    "real_person": [[in_("real actual live proper"), _PERSON_LIKE]],
    "asks_for_callback": [
        [in_("callback call-back")],
        [in_("call ring phone"), in_("me"), in_("back")],
        [
            in_("someone somebody manager supervisor team agent person"),
            in_("to can could", op="?"),
            in_("call ring phone contact email"),
            in_("me us"),
        ],
    ],
    "asks_for_phone_number": [
        [in_("customer"), in_("service services care"), gap(2), in_("number")],
        [in_("number"), in_("to i", op="?"), in_("can", op="?"), in_("call ring reach")],
    ],
    "asks_how_to_reach_person": [[in_("reach contact"), _FILLER, _PERSON_OR_TEAM]],
}

# A bare "agent pls" or "HUMAN" is a request too, but only when nothing else is said.
_BARE_FILLER = in_(
    "please pls plz now asap a an real live actual i want need talk to speak me get give human"
    " agent person thanks ty hi hello hey ! ? .",
    op="*",
)
BARE_REQUEST = "bare_request"
BARE_PATTERN: Pattern = [_BARE_FILLER, fuzzy(f"{_PERSON_WORDS} humans people"), _BARE_FILLER]

# --- frustration with the bot ------------------------------------------------------------

_BOT = in_("bot chatbot robot ai assistant machine system chat")
_BOT_OR_ANSWERS = in_(
    "bot chatbot robot ai assistant machine system chat faq faqs articles answers answer links"
    " link suggestions options"
)
_BAD = in_(
    "useless stupid pointless dumb rubbish hopeless crap terrible awful worthless broken thick"
    " garbage"
)

FRUSTRATION_PATTERNS: dict[str, list[Pattern]] = {
    "bot_is_useless": [
        [_BAD, _BOT],
        [_BOT_OR_ANSWERS, in_("is are 's s just so really were", op="{0,2}"), _BAD],
        [_BOT, in_("does do did", op="?"), in_("n't nt not"), in_("understand help work get")],
    ],
    "repeating_itself": [
        [in_("repeating repeat"), in_("yourself urself itself")],
        [
            in_("you u it bot chatbot this which"),
            in_("keep keeps kept"),
            in_("repeating saying sending asking giving telling looping"),
        ],
        [in_("same"), in_("answer answers reply response link links")],
        [in_("round around going"), in_("in"), in_("circles circle")],
        [in_("in stuck"), in_("a the", op="?"), in_("loop")],
        [in_("keeps keep just is its 's"), in_("looping")],
    ],
    "already_told_you": [
        [
            in_("already"),
            in_("told said explained gave given asked answered tried done did provided"),
            in_("you u that this all twice everything"),
        ],
        [in_("just"), in_("told said explained gave asked"), in_("you u that")],
        [in_("how"), in_("many"), in_("times")],
        [
            in_("third 3rd fourth 4th fifth 5th tenth"),
            in_("time"),
            in_("i now asking contacting chatting writing emailing calling messaging this that"),
        ],
        [
            in_("asked told explained contacted emailed rang called said chased messaged"),
            gap(4),
            in_("times twice"),
        ],
    ],
    "not_being_helped": [
        [
            in_("you u ur bot it"),
            in_("re 're r are is 's s do does", op="?"),
            in_("not n't nt"),
            in_("listening understanding reading helping answering listen understand read"),
        ],
        [in_("not n't nt"), in_("helpful")],
        [in_("not"), in_("what"), in_("i"), in_("asked meant said wanted need")],
        [in_("waste"), in_("of"), in_("time my")],
        [in_("going getting got"), in_("nowhere")],
        [in_("brick"), in_("wall")],
        [in_("read"), in_("what"), in_("i"), in_("wrote said typed asked")],
        [in_("read"), in_("my"), in_("message messages question")],
        [in_("passed bounced pushed"), in_("around about between")],
        [in_("fed"), in_("up")],
        [in_("i"), in_("give"), in_("up")],
    ],
}

# --- anger -------------------------------------------------------------------------------

ANGER_PATTERNS: dict[str, list[Pattern]] = {
    "profanity": [
        [
            in_(
                "fuck fucking fucked fuckin f***ing f*** f**k fck fking fkn wtf ffs shit shite"
                " shitty bullshit bollocks bastards bastard twat twats arseholes assholes"
                " wankers piss pissed"
            )
        ],
    ],
    "outrage": [
        [
            in_(
                "furious livid fuming raging seething outraged infuriated infuriating enraged"
                " incandescent disgraceful disgrace appalling appalled thieves crooks cowboys"
                " shambles"
            )
        ],
        [in_("daylight"), in_("robbery")],
        [in_("the to"), in_("hell")],
        [in_("you"), in_("dare")],
        [in_("1 one zero"), in_("-", op="?"), in_("star stars")],
        [in_("disgusted unacceptable pathetic outrageous shambolic")],
        [
            in_("you u your ur stop"),
            in_("are 're re r", op="?"),
            in_("lying lied liars lies idiots idiot morons clowns muppets cheats"),
        ],
        [
            in_("so really extremely very absolutely beyond bloody fucking"),
            in_("angry mad cross"),
        ],
        [in_("worst"), gap(2), in_("service company experience shop delivery business")],
        [
            in_("never"),
            in_("ordering buying shopping using order buy shop use"),
            gap(3),
            in_("again"),
        ],
        [
            in_("is 's are re 're what beyond"),
            in_("a an such", op="?"),
            in_("absolute total complete utter bloody fucking", op="?"),
            in_("joke farce scam con"),
        ],
        [in_("rip"), in_("-", op="?"), in_("off")],
    ],
}
