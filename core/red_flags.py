"""Red flags: emergencies recognised from the words of a message, whatever the classifier says.

The phrases and how they are read; `components/red_flags.py` applies them in the NLU
pipeline, and the channels to a message too long for it (`channels/guard.py`).

A missed emergency is the worst thing this assistant can do, so this layer does not depend
on any model's confidence. It looks for symptom phrases of six kinds anywhere in the
message (first, second or last sentence alike): `emergency`, or `self_harm` for thoughts
of suicide or self-harm (whose reply adds the 9-8-8 helpline).

Phrases are symptoms a person has now ("I can't breathe", "his face is drooping"), not
topics: "can needling collapse a lung?" is a question for the clinic, not a 911 call, and
idioms ("I'm dying to try it", "this knot is killing me", "the emergency number for
booking") match nothing. A symptom denied just before it ("no chest pain") does not count,
nor one asked about as a risk ("is shortness of breath a side effect?"), one from the past
("I fainted once years ago"), or a workout's chest ("tight chest from bench press").
Symptom words typed with a letter dropped, doubled or swapped ("chset", "unconcious") are
read as meant.

`calm_reading` says why a message without a red flag reads calm (a symptom denied or asked
about, "emergency" about the clinic's services, an idiom, a question): the classifiers,
which learn emergencies too (data/emergency.yml), and the described emergencies
(components/described_emergencies.py) are second nets for phrasings the patterns do not
know, but not for those.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Dict, List, Optional, Pattern

EMERGENCY = "emergency"
SELF_HARM = "self_harm"

_CANT = (
    r"(?:can ?not|can'?t|cant|cnt|cannot|couldn'?t|unable to|not able to|struggling to|struggle to|"
    r"hard to|hard time|trouble|difficulty|difficult to|hurts? to|painful to|barely|hardly)"
)
_PERSON = (
    r"he|hes|he's|she|shes|she's|they|they're|someone|somebody|my (?:husband|wife|partner|son|"
    r"daughter|mom|mum|mother|dad|father|friend|child|kid|baby|grandma|grandpa|brother|sister|"
    r"boyfriend|girlfriend|coworker|co-worker|colleague|patient|roommate|flatmate|neighbou?r|grandmother|grandfather|"
    r"uncle|aunt|teammate|classmate|client)|pt|patient|teammate|coworker|roommate"
)
_IS = r"(?:is|are|'s|s|feels?|feeling|getting|got|went|has|have|keeps?)?"
_SO = r"(?:really |very |so |super |kind of |kinda |a bit |a little |more and more |more |all )?"
_TROUBLE = (
    r"hurts?|hurting|painful|pain|hard|harder|tough|difficult|difficulty|short|shorter|can'?t|cant|cannot|trouble|"
    r"struggl\w*|sharp|stabs?|stabbing"
)
_BREATHING = r"breathe|breath|breathing|breaths|inhale|inhaling|lungs?"
_CHEST_PAIN = r"pain|pains|painful|hurts?|hurting|tight|tightness|pressure|squeez\w*|crushing|heavy|heaviness|aches?|aching|stabbing|sharp"
_WORKOUT = r"(?:muscles?|muscle|workout|day|press|exercises?|wall|fly|flies|stretch\w*)"
_SIDE = r"(?:on|in|down) (?:one|the left|the right|left|right|1|his left|his right|her left|her right|my left|my right) side"

# Each kind: phrases that describe the emergency happening now.
PATTERNS: Dict[str, List[str]] = {
    "breathing": [
        rf"\b{_CANT} (?:breathe?|breathing|catch(?:ing)? (?:my|his|her|their|a) breath|get (?:any |enough |the )?air)",
        r"\bshort(?:er)? (?:breaths|breathing)\b|\b(?:tiny|small|shallow|little|quick|fast) breaths\b",
        r"\b(?:not|can'?t|cant|cannot) get(?:ting)? (?:enough|any) (?:air|oxygen|breath)",
        r"\b(?:short(?:ness)? of breathe?|breathless|gasping|wheezing badly)|\b(?:struggling|fighting) for (?:air|breath)\b",
        r"\b(?:c/o|complains? of|with|having|has|acute|new|sudden|increasing|worsening) sob\b|\bsob (?:and|with|since|after|post|\+)",
        r"\bout of breath (?:and|just|while|sitting|at rest|resting|lying|doing nothing)\b|\b(?:i'?m|im|i am) (?:so |really |very |completely )?out of breath\b",
        r"\b(?:i'?m|im|i am|is|are|he'?s|she'?s|started|keeps?|now|been|and) wheez|\bwheez\w* (?:and|badly|a lot|so|really)\b"
        r"|\b(?:a bit|a little|kinda|slightly|getting|gotten|feels?|feeling|sounds?|sounding) wheezy\b",
        r"\b(?:breath|breathing|breaths)\b (?:is |are |has |keeps? |gets? |getting |got |feels? |becoming |become |gotten |has gotten |and )*"
        rf"{_SO}(?:short|shorter|shallow|hard|harder|difficult|painful|hurts?|hurting|worse|fast|rapid|laboured|labored|tight|stabs?|stabbing)",
        r"\bnot breathing\b|\bbarely breathing\b",
        # a breathing word and a trouble word close together, in either order
        rf"\b(?:{_TROUBLE})\b[\w' ]{{0,25}}\b(?:{_BREATHING})\b|\b(?:{_BREATHING})\b[\w' ]{{0,25}}\b(?:{_TROUBLE})\b",
        # the chest and a pain word close together (not the chest muscles of a workout)
        rf"\b(?:{_CHEST_PAIN})\b[\w' ]{{0,30}}\bchest\b(?! {_WORKOUT})|\bchest\b(?! {_WORKOUT})[\w' ]{{0,30}}\b(?:{_CHEST_PAIN})\b",
        r"\bdyspn(?:o)?ea\b|\b(?:i'?m|im|i am|he'?s|she'?s|getting|so|really|very) winded\b(?! (?:when|after|climbing|running|on|from|doing|during))",
        r"\b(?:pain|hurts?|stabbing|sharp|aches?)\b[\w' ]{0,50}\b(?:when|whenever|every time|each time) (?:i |he |she |you |they )?(?:breathe|inhale|take a breath)",
        r"\b(?:can'?t|cant|cannot)[.!,]+ ?breathe?\b",
        r"\bchest (?:pain|pains|tightness|pressure)",
        rf"\bchest {_IS} ?{_SO}(?:\w+ and )?(?:tight|tightening|hurts?|hurting|pounding|heavy|crushing|aches?|aching|sore and|pain|painful|kills|killing)",
        r"\bbreath(?:ing)? (?:is )?(?:no good|not good|not right|not normal)\b|\bbreathing (?:problems?|difficult(?:y|ies)|troubles?|issues?)\b|\bsuffocat",
        r"\b(?:sitting|standing|on) (?:on )?my chest\b",
        r"\bchest\b[\w' ]{0,30}\b(?:(?:sitting|standing) on it|like (?:a|an) (?:weight|elephant|brick|vice|vise|band))\b",
        # a nurse's words: pleuritic pain, falling oxygen saturation, a climbing breathing rate
        r"\bpleuritic\b|\b(?:sp ?o2|o2 sats?|sats|oximeter|oxygen)\b[\w' ]{0,25}\b(?:8\d|7\d)\s?%"
        r"|\b(?:resp(?:iratory)?|breathing) rate (?:is )?(?:climbing|rising|going up|up)\b",
        r"\bbreathing (?:is |has )?(?:going|getting|gone|went|feels|sounds) (?:\w+ )?(?:tight|whistly|wheezy|noisy|funny)\b",
        r"\b(?:lips?|face|fingers?|he|she|he'?s|she'?s|they|baby|i'?m|i am)\s+(?:is |are |was |started |starting |keeps? )*(?:turning|going|gone|went) (?:blue|grey|gray)"
        r"|\b(?:lips?|fingertips|fingernails|nails)\b[\w' ]{0,25}\b(?:blue|bluish|purple|grey|gray)(?: colou?r)?\b(?! (?:tape|dye|ink|marker|shirt|light|lipstick|pen|polish|nail))",
        r"\b(?:have|has|got|gave me|given me|think i have|i'?ve got) (?:a )?(?:collapsed|punctured|popped) lung\b|\b(?:collapsed|punctured|popped) (?:my|his|her) lung\b"
        r"|\b(?:my|his|her|the|a) lung (?:has |feels |is |might have |must have )?(?:collapsed|punctured|popped)",
        r"\b(?:having|having a|is this a|could this be a|might be a|think (?:it'?s|this is) a|signs of a) heart attack\b|\b(?:coughing up blood|choking)\b",
        # breathing described rather than named: "something is wrong with my breathing",
        # "every breath catches", "half breaths", "the air stops halfway"
        r"\b(?:something|anything)(?:'s| is| feels)? (?:wrong|off|not right|weird|funny) with (?:my|his|her|their) (?:breathing|breath|lungs?)\b"
        r"|\b(?:problems?|trouble|issues?|difficulty) with (?:my |his |her |their )?breathing\b",
        r"\b(?:breath|breathing|breaths|inhale)\b[\w' ]{0,20}\bcatch(?:es|ing)\b|\b(?:half|partial) (?:a )?breaths?\b|\bsips? of air\b"
        r"|\b(?:air|breath) (?:stops|gets stuck|only goes|won'?t go) (?:halfway|half way|part way)",
        rf"\b{_CANT} (?:take|get|draw) (?:a |in )?(?:full|deep|proper|whole) (?:breath|air|insp\w*)"
        r"|\b(?:can'?t|cant|cannot|unable to|couldn'?t) (?:finish|complete|get through|get to the end of) (?:a |my |one |his |her )?sentences?\b",
        # the heart: a chest held, or chest pain with sweating or a jaw or left arm that aches
        r"\b(?:holding|clutching|grabbing|gripping) (?:his|her|my|their|at (?:his|her|my|their)) chest\b"
        r"|\bchest\b.{0,80}\b(?:sweat(?:ing|y)|clammy|(?:jaw|left arm) (?:aches|hurts|is (?:aching|hurting|numb)))\b",
    ],
    "fainting": [
        r"\b(?:fainted|fainting|passed out|passing out|pass(?:ing)? out|blacked out|black(?:ing)? out)\b",
        rf"\b(?:{_PERSON}|i|we)\b(?: [\w']+){{0,4}} (?:collapsed|keeled over)\b(?! (?:lung|arch\w*|discs?|vertebra\w*|foot|feet))"
        r"|\bcollapsed (?:on|onto|in|at) (?:the )?(?:floor|ground|waiting room|car|street|bathroom|kitchen|hallway|couch|sofa|chair)\b",
        r"\b(?:about|going|gonna) to faint\b",
        r"\b(?:lightheaded|light-headed|dizzy|woozy)\b[\w' ]{0,30}\b(?:faint|pass out|black out)\b",
        r"\bfeel(?:s|ing)? (?:very |really |so )?faint\b",
        r"\b(?:he|she|they|my \w+) faint(?:s|ed)? (?:after|in|at|and|now|suddenly|today|just|again)\b",
        r"\bsyncopal\b|\b(?:is|was|went|now|just|became|fell) (?:pre-?)?syncop\w*|\b(?:having|had|is having|now|just had) (?:a )?vasovagal\b",
        r"\b(?:minimally|barely|poorly|semi|not|non)[- ]?responsive\b",
        r"\b(?:unconscious|unresponsive|out cold|lost consciousness|losing consciousness|barely conscious|not conscious|semi-?conscious)\b",
        r"\b(?:not|barely|isn'?t|is not|won'?t|wont|will not|doesn'?t|does not|no) (?:waking|wake)\b",
        r"\b(?:can'?t|cant|cannot|unable to|couldn'?t) (?:wake|rouse) (?:him|her|them|my \w+)\b",
        # a person not responding (an app "not responding" is no emergency)
        rf"\b(?:{_PERSON})\b[\w' ]{{0,50}}\b(?:not|barely|isn'?t|won'?t|wont|will not|doesn'?t|does not|no) "
        r"(?:responding|respond|answering me|answer me|answer when|answering when|reacting|react|moving|opening (?:his|her|their) eyes)"
        # ... or not responding, said without naming who ("the app isn't responding" and "not
        # responding to treatment" aside)
        r"|(?<!you )(?<!you're )(?<!app )(?<!site )(?<!page )(?<!chat )(?<!phone )"
        r"\b(?:isn'?t|is not|not|won'?t|wont|stopped|no longer) (?:really |properly |fully )?"
        r"(?:responding|answering me|reacting|coming (?:round|around))\b(?! (?:to|well|as|much|like|the))",
        r"\b(?:went|gone|is|has gone|going) limp\b",
        r"\b(?:dropped|fell) (?:down )?(?:to|on) the (?:floor|ground)\b",
        r"\b(?:seizure|seizing(?! up)|convuls\w*|having a fit)\b",
        r"\b(?:can'?t|cant|cannot|couldn'?t) get (?:him|her|them|my \w+) to (?:say anything|respond|answer|talk|speak|wake|react|open (?:his|her|their) eyes)",
        rf"\b(?:{_PERSON})\b[\w' ]{{0,25}}\b(?:slumped|went down|dropped|crumpled)\b"
        r"(?! (?:a |the |his |her |my |by |to |into|from|under|below|\d|one|two|three|weight|pounds|lbs|kg|out of|off|in (?:price|size|weight)))",
        r"\beyes (?:are |have |keep )?(?:rolled|rolling|roll) (?:back|up)\b"
        r"|\beyes (?:won'?t|wont|will not|don'?t|doesn'?t) open\b|\bwon'?t open (?:his|her|their) eyes\b",
    ],
    "bleeding": [
        r"\b(?:bleed\w*|bled|blood|nosebleeds?)\b[\w' ,]{0,40}\b(?:won'?t|wont|will not|doesn'?t|does not|isn'?t|is not|not|can'?t|cant|hasn'?t|has not|never|no) "
        r"(?:stop|stopping|stopped|clot|clotting|slow(?:ing)? down|quit|ease|let up)\b(?! (?:itching|hurting|aching|twitching|throbbing|stinging))",
        r"\b(?:can'?t|cant|cannot|unable to|couldn'?t) (?:get|make) the (?:bleeding|blood) (?:to )?stop",
        r"\b(?:won'?t|wont|will not|doesn'?t|does not|not|can'?t|cant|cannot|couldn'?t|unable to) (?:get (?:it|the \w+) to )?stop(?:ping)? (?:the )?bleed",
        r"\bblood (?:won'?t|wont|will not|doesn'?t|does not|keeps?) (?:stop|coming|pouring|flowing|gushing|dripping|running|oozing|leaking|seeping)",
        r"\b(?:keeps?|kept|still|continues? to|been) bleed\w*",
        r"\b(?:bleed\w*|blood)\b.{0,40}\b(?:can'?t|cant|cannot|unable to) (?:make|get) (?:it|the \w+|them) (?:to )?stop\b",
        r"\b(?:bleeding|bleed) (?:a lot|alot|heavily|heavy|badly|profusely|everywhere|like crazy|non ?stop|so much|really bad|for (?:an?|\d+|over|more than|the (?:last|past)) )",
        r"\b(?:severe|heavy|lots of|so much|a lot of|alot of) (?:bleeding|blood)\b(?! (?:problems?|disorders?|issues?|risks?|tests?|thinners?|work))",
        # blood everywhere; a wound that pours or spurts ("split my shin open, it spurts")
        r"\bblood (?:is )?(?:everywhere|soaking|pouring|gushing|spurting)|\b(?:gushing|pouring|spurting|squirting) (?:out )?blood"
        r"|\b(?:blood|bleed\w*|cut|wound|gash\w*|lac\w*|split|sliced|slashed|nosebleed)\b.{0,90}"
        r"\b(?:pouring|pours|spurt\w*|gush\w*|squirt\w*|pumping|like a tap|soaks? (?:through|every))",
        r"\bsoak(?:ed|ing)? (?:through|with blood|in blood)\b|\b(?:dripping|seeping|coming|leaking) (?:right )?through\b",
        r"\b(?:nosebleed|nose bleed|bleeding|blood)\b[\w' ]{0,20}\b(?:been going|going on|still going)\b",
        r"\bbled through\b",
        # blood vomited
        r"\b(?:pulsatile|arterial) (?:bleed\w*|blood)\b|\b(?:bleed\w*|blood)\b.{0,60}\bpressure\b.{0,30}\bnot (?:controlling|stopping|helping|working)\b",
        r"\b(?:throwing up|vomiting|puking|spitting up|threw up|vomited) (?:bright red |dark |lots of |a lot of |some |up )?blood\b",
    ],
    "stroke": [
        r"\b(?:face|mouth|smile|lip) (?:is |has |started |starting |went |looks |seems |all |suddenly |kind of |a bit |a little )*(?:drooping|droopy|drooped|droops|sagging|uneven|lopsided|crooked|twisted)",
        rf"\b(?:droop(?:ing|y|s)?|numb(?:ness)?|sagg\w*|weak(?:ness)?|paraly\w*|tingl\w*|limp) {_SIDE}",
        r"\b(?:one side|half) of (?:(?:my|his|her|their|the) )?(?:face|mouth|body)\b.{0,20}\b(?:droop\w*|fell|fallen|dropped|numb|sagg\w*|slack|weak|paraly\w*|frozen|not moving|won'?t move)"
        # a side of the face that goes down, tingles or numbs
        r"|\b(?:face|mouth|smile|lip|cheek)\b[\w' ]{0,20}\b(?:go(?:es|ing)?|went|fell|fallen|dropped|drops|is) down on (?:one|the left|the right|left|right|1) side\b"
        r"|\b(?:left|right|one) side of (?:(?:my|his|her|their|the) )?(?:face|mouth)\b[\w' ]{0,20}\b(?:tingl\w*|numb\w*|droop\w*|fell|fallen|dropped|sagg\w*|weak)",
        r"\bslurr(?:ed|ing)\b",
        r"\b(?:can'?t|cant|cannot) (?:lift|raise|feel|move) (?:my|his|her|their|one|both|either) (?:left |right )?(?:arms?|legs?|hands?|side)",
        r"\b(?:arm|leg|side) (?:is |went |suddenly )*(?:numb|weak|limp|dead)\b.{0,40}\b(?:face|speech|talk|speak|word)",
        r"\b(?:face|speech|talk|speak|words?)\b.{0,60}\b(?:arm|leg|hand) (?:is |went |goes |has gone |feels |suddenly |got |also )*(?:numb|weak|limp|dead|heavy)\b",
        r"\bsudden(?:ly)?\b(?: \w+){0,4} (?:weak\w*|numb\w*|paraly\w*|can'?t move|cant move|cannot move|can'?t feel|cant feel|confus\w*|can'?t (?:speak|talk)|cant (?:speak|talk))",
        r"\b(?:left|right|one) side(?: of (?:my|his|her|their|the) (?:body|face))? (?:(?:went|is|has gone|goes|feels|suddenly|just|all) )*(?:numb|weak|dead|limp|paraly\w*)",
        r"\b(?:can'?t|cant|cannot) (?:smile|move (?:my|his|her|their) face)\b",
        r"\b(?:having|is having|think (?:i'?m|im|he'?s|she'?s|it'?s|this is)(?: having)?|is (?:this|it)|could (?:this|it) be|might be) a stroke\b(?! (?:before|years|last|in \d|a few|once))",
        r"\b(?:signs|symptoms) of (?:a )?stroke\b",
        r"\bstroke (?:right now|now|symptoms)\b",
        r"\b(?:can'?t|cant|cannot|couldn'?t|trouble|difficulty|hard time) (?:speak(?:ing)?|talk(?:ing)?) (?:properly|clearly|right|straight|normally)\b",
        r"\b(?:trouble|difficulty|hard time|problems?) (?:speaking|talking)\b(?! (?:to|with|about|on the|in english))",
        r"\b(?:can'?t|cant|cannot|couldn'?t) (?:get (?:my|his|her|their|the) words out|find (?:my|his|her|their|the) words(?! to (?:thank|say|describe|express|tell|explain))|form words)",
        r"\b(?:words?|speech) (?:is |are |keeps? |coming out |come out |came out |sounds? |sounding |all |is all )*(?:jumbled|garbled|mixed up|wrong|weird|strange|nonsense)",
        r"\b(?:talking|speaking|talks|speaks) (?:funny|weird|strange|strangely|gibberish|nonsense)"
        # speech gone wrong, in patients' words
        r"|(?<!of )\b(?:speech|speaking|talking|talks|talk|voice|words)\b[\w' ]{0,30}\b(?:funny|slow|slurry|garbled|mixed|drunk|had (?:a few|too many) drinks|"
        r"(?:don'?t|doesn'?t|do not|does not|dont|not) mak(?:e|es|ing) (?:any )?sense)\b(?! (?:question|joke))|\bgarbled (?:voice|speech|words)\b",
        r"\b(?:can'?t|cant|cannot|lost|losing) (?:see|vision|sight) (?:out of|in) (?:one|my left|my right|his left|his right|her left|her right|one of (?:my|his|her)) eye",
        # second-language English ("she cannot speak the words good"), a hand that suddenly
        # won't grip, the sudden worst headache of one's life with other signs
        r"\b(?:can'?t|cant|cannot|not able to) (?:say|speak) (?:the |any |her |his |my )?words? "
        r"(?:good|well|right|properly|clearly|anymore|any more|out)\b",
        r"\b(?:hand|arm|leg|fingers?) (?:just )?(?:won'?t|wont|will not|can'?t|cant|cannot|doesn'?t|does not|wouldn'?t|couldn'?t) (?:grip|grab|hold|close|move|work)\b"
        r"|\b(?:can'?t|cant|cannot) grip\b|\b(?:hand|arm|leg) (?:has |have |just )?(?:suddenly )?stopped working\b",
        r"\bsudden(?:ly)?\b(?: \w+){0,3} (?:splitting|thunderclap|explosive|worst) headache|\bworst headache of (?:my|his|her|their) life\b",
        # a nurse's words
        r"\bfacial (?:droop\w*|weakness|asymmetry)\b|\b(?:arm|pronator) drift\b|\b(?:expressive |receptive )?aphasi\w*|\bdysarthri\w*|\blast (?:known|seen) well\b",
        r"\b(?:eye|vision|sight)\b[\w' ]{0,25}\b(?:went|gone|going|turned|goes) (?:dark|black|dim|blank)\b"
        r"|\bcurtain (?:came|coming|come|fell|falling|dropped|drop) (?:down )?(?:over|across)\b",
    ],
    "allergy": [
        r"\banaphyla(?:xis|ctic|ctoid)\b(?! to)",
        # a nurse's shorthand: stridor, hives with falling blood pressure
        r"\bstridor\b|\b(?:urticaria|hives)\b.{0,60}\b(?:bp|blood pressure|pressure) (?:dropping|falling|low|crashing|tanking)\b",
        r"\b(?:severe|bad|serious) allergic reaction\b",
        r"\ballergic\b(?:(?!\b(?:no|not|never|without)\b|n't\b).){0,60}\b(?:breath|throat|swell|hives|lips|tongue|swallow)|\b(?:throat|swell|tongue|lips)\b.{0,60}\ballergic\b",
        r"\b(?:throat|tongue|lips?|face|mouth|eyes?|eyelids?)(?: and (?:my |his |her )?\w+)? (?:is |are |feels? |started |starting |keeps? |getting |got |went |so |really |all )*"
        r"(?:swelling|swollen|closing|swelled|swell(?:s|ing)? up|puffing|puffed up|blowing up|ballooning)",
        r"\bthroat (?:is |feels? |getting |got |so |very |really |and |like it'?s |like it is )*(?:tight|tightening|closing)",
        r"\b(?:tongue|lips?|throat) (?:feels?|is|are|looks?|gone|went|getting|got) (?:\w+ )?(?:fat|thick|huge|enormous|puffy|too big)\b",
        r"\bhives\b.{0,60}\b(?:breath|throat|swell|dizzy|faint|lips|tongue)|\b(?:throat|lips|tongue)\b.{0,60}\bhives\b",
        r"\bhives (?:all over|everywhere)|\b(?:welts|hives)\b[\w' ,]{0,60}\b(?:breath\w*|throat|wheez\w*)\b",
        r"\b(?:can'?t|cant|cannot|hard to|trouble|difficulty) swallow\w*(?! pills| tablets| capsules| meds)",
        r"\b(?:need|needs|where'?s|where is|grab|get|use|used|using|gave|give|inject(?:ed)?) (?:my |his |her |the |an? )?(?:epi ?-?pen|epinephrine)\b",
    ],
}

SELF_HARM_PATTERNS: List[str] = [
    # pills saved up or counted, a blade turned on oneself, a night chosen
    r"\b(?:saved|saving|stockpil\w*|hoard\w*|collect\w*) (?:up )?(?:all )?(?:my |of my )?(?:pills|tablets|meds|medication)\b"
    r"|\bhow many (?:of )?(?:my |the |these )?(?:pills|tablets|meds)\b[\w' ]{0,30}\b(?:take|kill|enough|overdose)\b"
    r"|\b(?:pills|tablets|meds)\b[\w' ,.]{0,60}\b(?:take|swallow) (?:all of them|them all|the lot|every one)\b",
    r"\b(?:use|using|turn|turning) (?:it|the knife|a knife|the blade|a blade|them) on myself\b|\btonight is the night\b",
    r"\bsuicid(?!e squad)",
    r"\bkill(?:ing)? (?:my ?self|myself)\b",
    r"\b(?:want|wants|wanted|wanna|going|gonna|trying|tried|threaten\w*|talk\w* about|thinking (?:about|of)|said he'?d|said she'?d) (?:to )?"
    r"kill(?:ing)? (?:him|her|them)(?:self|selves)\b(?! laughing)",
    r"\b(?:rather|prefer to|want to|wanna|hope i|hoping to|wish i could) (?:just )?(?:not|never) wake up\b",
    r"\b(?:been |started |keep |kept |i'?m |im |was )cutting (?:again|myself|deeper|tonight)\b|\bcut(?:ting)? my (?:arms?|wrists?|thighs?)\b",
    r"\btak(?:e|ing) enough\b[\w' ]{0,30}\bto (?:stop|end|not wake|never wake|sleep forever|die)\b"
    r"|\b(?:given|giving|gave) away (?:all )?(?:of )?(?:my|his|her) (?:things|stuff|belongings|possessions|tools|pets?)\b"
    r"|\b(?:wrote|written|writing|left) (?:goodbye |farewell |final )?(?:letters|notes|a letter|a note) (?:to|for) (?:my|all my|each of my) (?:kids|children|family)\b"
    r"|\bgoodbye (?:letters?|notes?)\b",
    r"\b(?:standing|stood|sitting|sat|been) (?:on|at) (?:the|a) (?:bridge|ledge|rooftop|roof|tracks)\b[\w' ,.]{0,40}\b(?:think\w*|jump\w*|how easy)\b",
    r"\bkms\b",
    r"\b(?:end|take|ending|taking) my (?:own )?life\b",
    r"\bend it all\b",
    r"\b(?:want|wanna|going|gonna|thinking (?:about|of)|thought (?:about|of)|thoughts of|feel like|plan(?:ning)? to|ready to|tempted to|might)\b"
    r"[\w' ]{0,10}\b(?:end|ending) (?:it|things|everything)\b(?! (?:with|early|for today|there|here))",
    r"\b(?:wants?|wanted|wanna|going|gonna|thinking about|thoughts of|think about) (?:to )?(?:die|dying)\b"
    r"(?! (?:laughing|of (?:embarrassment|laughter|boredom|shame|(?:bad )?posture|old age|stubbornness|cringe|hunger|heat|exhaustion)))",
    r"\b(?:don'?t|do not|dont|no|not) (?:(?:think|feel like) (?:i|he|she) (?:really )?|really |even )?(?:want|wanna|wish) (?:to )?(?:live|be alive|be here|wake up|exist)\b"
    r"(?! (?:with|for|all day|long|that long|at|when|if|on|early|late|during|till|until|in))",
    r"\bbetter off (?:dead|without (?:me|him|her)\b|if i (?:was|were|wasn'?t|weren'?t))",
    # not planning to be around; a way to die pictured; a bottle of pills swallowed
    r"\b(?:not|won'?t|wont) (?:be )?(?:planning|going|gonna|plan) (?:on |to )?(?:be(?:ing)?|stick(?:ing)?) (?:around|here)\b",
    r"\b(?:picturing|imagining|keep thinking about|thinking about|urges? to|tempted to)\b[\w' ]{0,20}\b"
    r"(?:driv\w*|crash\w*|jump\w*|step\w*|walk\w*) (?:into|off|in front of)\b",
    r"\bi(?:'ve| have)? (?:just )?(?:swallowed|took|taken|downed) (?:a |the )?(?:whole |entire |full )?(?:bottle|box|pack|packet|handful|bunch|strip) of "
    r"(?:my |his |her |the |those )?(?:\w+ )?(?:pills|tablets|meds|medication|painkillers|relaxants)\b",
    r"\bwould it take (?:to|and) (?:not|never) wake\b|\bhow many\b[\w' ]{0,40}\bwould it take\b[\w' ]{0,12}\b(?:die|kill|not wake|never wake|end)\b",
    r"\b(?:no ?one|nobody) (?:would|will|'d) (?:miss|care|notice) (?:me|if i)",
    r"\bno (?:reason|point) (?:in |to )?(?:living|live|going on|being alive)\b|\bpoint (?:in|of|to) (?:living|going on|being alive)\b|\b(?:not|isn'?t) worth living\b",
    r"\b(?:tired|sick) of (?:living|being alive)\b(?! with)|\bstop (?:living|existing|being alive)\b",
    r"\b(?:want|wanna|wish|need) (?:it all|everything|my life|things|all of this)(?: all)? to (?:end|be over)\b(?! with)",
    r"\b(?:rather|better) (?:be )?dead\b|\brather (?:die|not be alive|not exist)\b"
    # "I'd rather die than sit through a sales pitch": an idiom
    r"(?! than (?:sit|listen|watch|eat|wear|sing|dance|pay|admit|ask|read|miss|be seen|use|queue|wait in line)\b)",
    r"\b(?:better|fine|happier|easier)(?: off)?(?: for everyone)? if i (?:just )?(?:die|died|was dead|were dead|was gone|were gone|"
    r"wasn'?t (?:here|around|alive)|weren'?t (?:here|around|alive))\b(?! (?:for|at|on|in|during|until|till|when|so|today|tomorrow))",
    r"\b(?:can'?t|cant|cannot) (?:go on|keep going) (?:anymore|any more|like this|living)",
    r"\b(?:want|wanna) to disappear (?:forever|for good|permanently)\b|\bwish (?:i|i'?d) (?:was|were|could)(?: just)? (?:dead|die|disappear)|\bwish i (?:wasn'?t|weren'?t) (?:alive|here|born)|\bwish i(?: had|'d) never been born",
    r"\b(?:want|wanna|going|gonna|thinking (?:about|of)|plan(?:ning)?|tempted|about) (?:to )?overdose|\btake (?:all|a bunch|the whole bottle) (?:of )?(?:my |the )?(?:pills|meds|medication|tablets)",
    r"\b(?:want|wanna|wants|going|gonna|thinking (?:about|of)|thoughts? (?:of|about)|urges? to|feel like|might|will|tempted to|"
    r"started|keep|kept|been|sometimes)\b[\w' ]{0,8}\b(?:hurt|harm|cut|burn)(?:ing)? (?:my ?self|myself)\b",
    r"\b(?:hurt|harm|cut|burn)(?:ing)? (?:my ?self|myself) (?:on purpose|deliberately|again)\b",
    r"\bself[- ]?harm",
]

# A denial just before a symptom ("no chest pain", "not short of breath", "never fainted",
# "I don't have any trouble breathing"), not a "no" that starts a plea ("no i cant breathe").
NEGATION = re.compile(
    r"(?:\b(?:no|not|never|without|nor|zero)\b|"
    r"\b(?:don'?t|doesn'?t|didn'?t|haven'?t|hasn'?t|hadn'?t|isn'?t|aren'?t|wasn'?t|dont|doesnt|didnt|havent|hasnt|isnt|wasnt) "
    r"(?:have|has|had|feel|feels|get|gets|got|experience|notice|seem to|seem|really|currently|think i have)|"
    r"\b(?:don'?t|dont|do not|doesn'?t|didn'?t|never)(?= ?$))"
    r"(?: (?:any|real|more|longer|really|having|have|had|feeling|experiencing|getting|been|much|obvious|a|the|signs? of|being))*\s*$"
)
# A symptom asked about as a possibility, not had: "can it cause chest pain?", "what if i faint?"
HYPOTHETICAL = re.compile(
    r"\b(?:can|could|does|do|will|would|might|may) (?:it|dry needling|needling|ims|the needles?|this|that|they|you)\b"
    r"[\w' ]{0,30}\b(?:cause|give|lead to|make|result in|trigger)\b[\w' ]{0,20}$"
    r"|\b(?:what if|in case|risk of|chance of|chances of|possible to|is it normal to|afraid of|scared of|"
    r"worried about|worry about|fear of|afraid i'?ll|scared i'?ll)\b[\w' ]{0,30}$"
    r"|\b(?:afraid|scared|worried|nervous|terrified)(?: that)?\s*$"
    r"|\b(?:will|would|could|might|may) (?:it|i|you|they|the (?:spot|site|area|skin|needle))\s+$"
    r"|(?<!why )\bdoes (?:it|dry needling|needling|ims|the treatment)\s+$"
    r"|\b(?:can|could|may|might|will|would|does|do) (?:\w+ ){0,4}(?:cause|lead to|result in|make(?: it| you| me| people)?|give (?:you|people|me))\b[\w' ]{0,20}$"
    r"|\bif (?:i|you|he|she|they|someone|a patient|my \w+)\s+$"
    r"|\b(?:nearly|almost) (?:had |have |having )?a\s+$|\bthought (?:i|he|she|they) (?:was|were|had)(?: having)?(?: a)?\s+$"
    r"|\b(?:died|passed away|passed) (?:of|from) (?:a\s+)?$|\b(?:gave|give|giving) (?:me|him|her|us) a\s+$|\b(?:that'?s|this is|which is)\s+$"
    r"|\b(?:how do you|how to|do you) (?:handle|manage|deal with|treat|screen for|prevent|avoid)\b[\w' ]{0,20}$"
    r"|\b(?:do|does|did|has|have|can|could|will|would) (?:people|anyone|anybody|patients|someone|somebody|others|most people|you guys) "
    r"(?:ever |usually |often |sometimes |normally )?$"
    r"|\b(?:used to|history of|hx of|h/o)\b[\w' ]{0,20}$"
    r"|\b(?:sometimes|occasionally|at times|whenever)\b[\w' ]{0,40}$"
    r"|(?<!i'm )(?<!im )(?<!i am )\b(?:gets|get)\s+$"
    r"|\b(?:help(?:s|ful)?|treat(?:s|ing)?|good|used|work) (?:with|for|on)(?: (?:the|my|this|that|a|his|her))?\s+$"
    r"|\b(?:help|helps|work|works) (?:if|when)\b[\w' ]{0,25}$"
    r"|\bif (?:i|you|he|she|they|someone|a patient|my \w+) (?:ever |suddenly |were to |was to )?"
    r"(?:get|gets|got|have|has|had|develop|develops|experience|experiences|start|starts|notice|notices)\b[\w' ]{0,20}$"
)
# After a symptom: it is asked about as a risk ("is shortness of breath a side effect?"),
# or named as a reaction to the thought of needles ("i feel faint at the sight of needles").
NOT_NOW_AFTER = re.compile(
    r"^\W*(?:(?:is|are|was) )?(?:an? |one of the )?(?:(?:common|possible|known|rare|usual|normal) )?(?:side[- ]?effects?|risks?|complications?|contraindications?)\b"
    r"|^\W*(?:(?:at )?the (?:thought|sight|idea) of|when i see (?:a |the )?needles?|around needles|of needles|"
    r"(?:watching|looking at|reading about|seeing) (?:a |the |some |this )?(?:needle|video|movie|clip|photo|picture|tiktok|youtube))"
    r"|^[\w' ,]{0,40}\b(?:once(?! (?:i|he|she|they|we|you)\b)|at (?:her|his|my|their|our) (?:own )?(?:wedding|graduation|party|birthday)|family (?:legend|story|joke))\b"
    r"|^[\w' ]{0,40}\b(?:years? ago|months ago|last year|as a (?:kid|child|teen)|in the past|once before|when i was (?:young|little|a)|in (?:19|20)\d\d)\b"
    r"|^[\w' ,()]{0,90}\b(?:(?:it|that|this)(?:'s| has| is)? (?:settles|settled|passed|passes|went away|goes away|gone away|eased off)|"
    r"(?<!not )(?:fine|normal|okay|ok|better|calm) (?:now|again|right now)|now (?:\d+|two|three) days later|recovered|turned out|always ha(?:ve|s)|it'?s my age|"
    r"(?:was|were|felt) (?:totally |completely |perfectly |absolutely )?(?:fine|okay|ok) (?:after|afterwards|within|by)|"
    r"(?:er|doctor|doc|cardiologist) (?:cleared (?:him|her|me|them|it)|said it was (?:fine|nothing|muscular|a muscle|anxiety|reflux|heartburn))|"
    r"but it was (?:just|only))\b"
    # ... last week: over, unless it goes on ("since last night and worse now")
    r"|^[\w' ,]{0,40}(?<!since )(?<!since the )\b(?:last (?:week|month|night|time|summer|winter|spring|fall)|(?:days|weeks) ago)\b"
    r"(?![\w' ,]{0,60}\b(?:still (?:have|has|hurts?|feels?|there|going|bad|tight|short|hard|can'?t)|worse|worsening|again|now)\b)"
    r"|^\W*(?:climbing|walking up|going up|on) (?:the |a )?(?:stairs|steps|hills?)\b"
    r"|^[\w' ]{0,20}\b(?:after|from|since|due to|caused by|because of) (?:a |my |his |her |their |the )?(?:old )?"
    r"(?:stroke|injury|surgery|accident|sciatica|pinched nerve|nerve|disc|herniat\w*|back|neck|cough\w*|cold|flu|sneez\w*|"
    r"allergies|asthma|stress|anxiety|tight \w+|pecs?|sitting|posture)\b"
    r"|^\W*when (?:i'?m|im|i am|i get|i feel) (?:stressed|anxious|nervous|worried)\b"
    r"|^[\w' ]{0,15}\b(?:sometimes|occasionally|at times|every so often)\b"
    r"|^\W*(?:during|when|while|on) (?:i |my |a |the )?(?:\w+ )?(?:run|runs|running|jog\w*|exercis\w*|workouts?|working out|training|hik\w*|stairs|sprint\w*|climb\w*|lift\w*|swim\w*|cycl\w*|bik\w*)\b"
    r"|^\W*through (?:my|the|his|her) nose\b"
    r"|^\W*(?:lol|lmao|lmfao|haha\w*|rofl|\U0001F602|\U0001F923|\U0001F62D)"
    r"|^\W*(?:in|under|at|during) (?:big |the |important )?(?:games?|pressure|matches|competitions?|clutch)\b"
    r"|^[\w' ,]{0,40}\bis (?:that|this|it) true\b"
    r"|^[\w' -]{0,15}\b(?:when to refer|management|protocols?|rates?|risks?)\b"
    r"|^\W*(?:muscles?|from (?:lifting|the gym|gym|bench\w*|training|working out|workouts?|exercis\w*|sitting|posture|weights))\b"
)

# After an arm that can't be lifted: a range of motion, not a stroke ("above my shoulder").
# After bleeding: a little only ("still bleeding a tiny bit").
# Before breathlessness, in the same sentence: laughter ("laughing so hard i couldn't breathe").
LAUGHTER = re.compile(r"\b(?:laugh\w*|giggl\w*|cracking up) so (?:hard|much)\b[^.!?]*$")
MINOR_AFTER = re.compile(r"^\W*(?:a (?:tiny |little |wee )?(?:bit|little|drop|dot)|slightly|just a (?:bit|little|drop|dot)|a tiny amount)\b")
RANGE_AFTER = re.compile(r"^\W*(?:above|over|past|higher than|overhead|behind|all the way|fully|without)\b")


def _compile(patterns: List[str]) -> List[Pattern[str]]:
    return [re.compile(p, re.IGNORECASE) for p in patterns]


COMPILED = {kind: _compile(p) for kind, p in PATTERNS.items()}
SELF_HARM_COMPILED = _compile(SELF_HARM_PATTERNS)


@dataclass(frozen=True)
class RedFlag:
    """A red flag found in a message: the intent it calls for, its kind and the words."""

    intent: str
    kind: str
    words: str


# Words the phrases are built on, restored when typed with one letter dropped, doubled or
# two letters swapped ("chset", "unconcious", "myslef"). Not with a letter changed: that
# would turn real words into symptoms ("painted" into "fainted").
SYMPTOM_WORDS = frozenset(
    "chest breathe breath breaths breathing bleeding unconscious unresponsive responding "
    "conscious fainted fainting drooping droopy slurred slurring swelling swollen throat "
    "tongue suicide suicidal myself anaphylaxis anaphylactic seizure".split()
)
_WORD = re.compile(r"[a-z]+")


def _slips(word: str) -> List[str]:
    """`word` with one letter dropped, one letter added, or two neighbours swapped."""
    letters = "abcdefghijklmnopqrstuvwxyz"
    dropped = [word[:i] + word[i + 1 :] for i in range(len(word))]
    added = [word[:i] + letter + word[i:] for i in range(len(word) + 1) for letter in letters]
    swapped = [word[:i] + word[i + 1] + word[i] + word[i + 2 :] for i in range(len(word) - 1)]
    return dropped + added + swapped


# each slip (of five letters or more, the same first letter) -> the word meant
SLIPS: Dict[str, str] = {
    slip: word
    for word in sorted(SYMPTOM_WORDS)
    for slip in _slips(word)
    if len(slip) >= 5 and slip[0] == word[0] and slip not in SYMPTOM_WORDS
}


def _restore(match: re.Match[str]) -> str:
    typed = match.group(0)
    return SLIPS.get(typed, typed)


def normalise(text: str) -> str:
    """Lower case, curly apostrophes straightened, whitespace collapsed, symptom words'
    slips of the keyboard restored."""
    text = text.replace("\u2019", "'").replace("\u2018", "'").lower()
    return _WORD.sub(_restore, " ".join(text.split()))


def _clause_before(text: str, start: int) -> str:
    """The words of the same clause just before `start` (up to 40 characters)."""
    before = text[max(0, start - 40) : start]
    return re.split(r"[.!?;,]| but | and | so ", before)[-1]


def _counts(text: str, match: re.Match[str], kind: str) -> bool:
    """Whether a symptom match is had now, not denied nor only asked about."""
    before = _clause_before(text, match.start())
    if NEGATION.search(before):
        return False
    if kind == SELF_HARM:
        return True
    after = text[match.end() :]
    if (kind == "stroke" and RANGE_AFTER.search(after)) or (kind == "bleeding" and MINOR_AFTER.search(after)):
        return False
    if kind == "breathing" and LAUGHTER.search(text[max(0, match.start() - 100) : match.end()]):
        return False
    return not (HYPOTHETICAL.search(before) or NOT_NOW_AFTER.search(after))


# After an emergency reply, a message that says it goes on or asks what to do now
# ("it's getting worse", "what do i do??") is the same emergency.
STILL_GOING = re.compile(
    r"\b(?:worse|worsening|still|again|spreading|not (?:better|stopping|improving)|no better|"
    r"(?:isn'?t|is not|not|won'?t|wont) (?:working|helping|stopping))\b"
)
# ... or asks for help, unless it says the patient is being looked after ("thanks, the
# ambulance is here")
ASKS_FOR_HELP = re.compile(r"\b(?:what (?:do|should|can) (?:i|we) do|what now|now what|help|please|hurry|scared)\b")
LOOKED_AFTER = re.compile(
    r"\b(?:thanks|thank you|thx|ty|called|calling|on (?:my|our|the|their) way|(?:ambulance|paramedics) (?:is|are) here|"
    r"fine now|better now|ok now|okay now|false alarm|all good)\b"
)


# Calm readings of a message the classifiers took for an emergency but that names none.
# "emergency" about the clinic's services ("is there an emergency appointment?"):
CALM_EMERGENCY_WORD = re.compile(
    r"\bemergency (?:number|line|phone|contact|appointments?|appts?|booking|slots?|visits?|fees?|charges?|"
    r"costs?|polic(?:y|ies)|cancellations?|hours|plans?|kits?|procedures?|protocols?|training|treatments?)\b"
)
# a risk asked about without naming a symptom ("is tiredness a common side effect?"), or
# read or heard about ("read online that people get collapsed lungs, has that ever happened?")
RISK_ASKED = re.compile(
    r"\b(?:is|are|was|were) (?:[\w']+ ){0,3}(?:an? |one of the )?(?:common |possible |normal |known |usual |rare |typical )?"
    r"(?:side[- ]?effects?|risks?|complications?|reactions? to (?:the )?(?:needl\w*|treatment|ims))\b"
    r"|\b(?:read|heard|seen|saw) (?:online |on \w+ |somewhere |about |that |a (?:story|post|article) )"
    r"|\b(?:has|did|does) (?:that|this|it) ever happen(?:ed)?\b|\bhow (?:common|rare|often|likely)\b"
)
# idioms with scary words ("dying to try it", "died of boredom")
IDIOM = re.compile(
    r"\b(?:dying (?:to|for)|died of (?:boredom|laughter|embarrassment)|die (?:laughing|of (?:boredom|embarrassment))|"
    r"killing me|to die for|dead (?:tired|serious)|killing it|scared to death|bored to death)\b"
)
# a question (not a plea for help) that starts like one
QUESTION = re.compile(
    r"^\W*(?:what|whats|what's|how|why|when|where|who|which|can|could|does|do|did|is|are|will|would|should|has|have)\b"
)
URGENT = re.compile(r"\b(?:help|911|ambulance|urgent|asap|hurry|right now|scared|emergency room|er)\b")


def calm_reading(text: str) -> Optional[str]:
    """Why a message without a red flag reads calm, if it does: a symptom denied or only
    asked about, "emergency" about the clinic's services, an idiom, someone already looked
    after ("thanks, the ambulance is here"), or a question."""
    lowered = normalise(text)
    for kind, patterns in [(SELF_HARM, SELF_HARM_COMPILED), *COMPILED.items()]:
        for pattern in patterns:
            if any(not _counts(lowered, match, kind) for match in pattern.finditer(lowered)):
                return "denied or asked about"
    if RISK_ASKED.search(lowered):
        return "denied or asked about"
    if CALM_EMERGENCY_WORD.search(lowered):
        return "the clinic's services"
    if IDIOM.search(lowered):
        return "idiom"
    if LOOKED_AFTER.search(lowered):
        return "looked after"
    sentences = re.split(r"(?<=[.!?])\s+", lowered)
    if any(QUESTION.search(sentence) for sentence in sentences) and not URGENT.search(lowered):
        return "a question"
    return None


def find_red_flag(text: str) -> Optional[RedFlag]:
    """The first red flag in `text`, self-harm before the others; None if there is none."""
    lowered = normalise(text)
    for pattern in SELF_HARM_COMPILED:
        for match in pattern.finditer(lowered):
            if _counts(lowered, match, SELF_HARM):
                return RedFlag(SELF_HARM, SELF_HARM, match.group(0))
    for kind, patterns in COMPILED.items():
        for pattern in patterns:
            for match in pattern.finditer(lowered):
                if _counts(lowered, match, kind):
                    return RedFlag(EMERGENCY, kind, match.group(0))
    return None


def goes_on(text: str) -> bool:
    """Whether a message says an emergency goes on, or asks what to do about it (read
    right after an emergency reply)."""
    lowered = normalise(text)
    asks = ASKS_FOR_HELP.search(lowered) and not LOOKED_AFTER.search(lowered)
    return bool(STILL_GOING.search(lowered) or asks) and calm_reading(text) != "denied or asked about"


def find_in_long_text(text: str, head: int = 4000, tail: int = 2000) -> Optional[RedFlag]:
    """The first red flag in a message too long to read whole: its first `head` and last
    `tail` characters (a story that ends in the emergency), at bounded cost."""
    if len(text) <= head + tail:
        return find_red_flag(text)
    return find_red_flag(text[:head]) or find_red_flag(text[-tail:])
