"""The red-flag layer on its own (components/red_flags.py): one phrasing for each of its
patterns, which only that pattern catches, so that a pattern lost or broken fails here;
many more phrasings as patients write them; calm messages that must not get 911."""

from __future__ import annotations

import re
from typing import List, Tuple

import pytest

from components.red_flags import (
    COMPILED,
    EMERGENCY,
    SELF_HARM,
    SELF_HARM_COMPILED,
    find_red_flag,
    normalise,
)

# (kind, message): each message names one emergency as patients write it.
PHRASES: List[Tuple[str, str]] = [
    ("breathing", "I can't breathe properly since the session"),
    ("breathing", "I'm short of breath"),
    ("breathing", "my breathing feels hard"),
    ("breathing", "my breaths are short"),
    ("breathing", "it hurts when I take a deep breath"),
    ("breathing", "he is not breathing"),
    ("breathing", "I have chest pressure"),
    ("breathing", "my chest is really tight"),
    ("breathing", "there is a pain in my chest"),
    ("breathing", "her lips are turning blue"),
    ("breathing", "he is choking"),
    ("breathing", "i can barely breathe"),
    ("breathing", "I'm gasping for air"),
    ("breathing", "his breathing is rapid"),
    ("breathing", "dyspnea post needling"),
    ("breathing", "stabbing pain under my shoulder blade every time i breathe in"),
    ("breathing", "my chest kills when i breathe"),
    ("breathing", "i can only take tiny breaths"),
    ("breathing", "not getting enough air"),
    ("breathing", "pt c/o SOB post-needling"),
    ("breathing", "Im out of breath just sitting here"),
    ("breathing", "wheezing and cant talk in full sentences"),
    ("breathing", "every breath i take hurts"),
    ("breathing", "Can't. Breathe."),
    ("breathing", "breathing problems since the needles"),
    ("breathing", "tight chest and short breath"),
    ("breathing", "feels like an elephant sitting on my chest"),
    ("breathing", "i think the needle punctured my lung"),
    ("fainting", "my dad faint after the needles"),
    ("fainting", "i cant wake her"),
    ("fainting", "he went limp"),
    ("fainting", "she dropped to the floor"),
    ("fainting", "my wife fainted in the car"),
    ("fainting", "passed out and barely responding"),
    ("fainting", "I think I'm about to faint"),
    ("fainting", "I feel very faint"),
    ("fainting", "he is unconscious"),
    ("fainting", "pt syncope after DN"),
    ("fainting", "she is barely responsive"),
    ("fainting", "my dad won't wake up"),
    ("fainting", "my son is not responding to me"),
    ("fainting", "she is having a seizure"),
    ("bleeding", "bleeding that won't stop"),
    ("bleeding", "it keeps bleeding"),
    ("bleeding", "i can't get the bleeding to stop"),
    ("bleeding", "its bleeding and i cant make it stop"),
    ("bleeding", "I cannot stop the bleeding"),
    ("bleeding", "the blood keeps coming"),
    ("bleeding", "it is bleeding heavily"),
    ("bleeding", "there is so much blood"),
    ("bleeding", "blood is pouring from my arm"),
    ("bleeding", "the bandage soaked through"),
    ("bleeding", "I bled through the gauze"),
    ("stroke", "his smile is lopsided"),
    ("stroke", "droopy on the left side"),
    ("stroke", "her words are slurred"),
    ("stroke", "I can't lift my arm"),
    ("stroke", "my arm went numb and I can't find my words"),
    ("stroke", "one side of his face fell"),
    ("stroke", "his arm went numb and his face looks odd"),
    ("stroke", "her speech is off and her arm feels heavy"),
    ("stroke", "sudden weakness in my left arm"),
    ("stroke", "her left side went numb"),
    ("stroke", "he can't smile"),
    ("stroke", "he is having trouble speaking"),
    ("stroke", "she can't get her words out"),
    ("stroke", "his words are all jumbled"),
    ("stroke", "she is talking funny"),
    ("stroke", "he can't see out of one eye"),
    ("stroke", "I think he is having a stroke"),
    ("stroke", "these look like signs of stroke"),
    ("stroke", "stroke symptoms in my mom"),
    ("stroke", "she cannot speak clearly"),
    ("allergy", "I'm going into anaphylaxis"),
    ("allergy", "I'm having a severe allergic reaction"),
    ("allergy", "allergic reaction and my lips are tingling"),
    ("allergy", "my tongue is swelling"),
    ("allergy", "hives and I feel dizzy"),
    ("allergy", "I have hives all over"),
    ("allergy", "where is my epipen"),
    ("allergy", "throat feels tight"),
    ("allergy", "i can't swallow"),
    (SELF_HARM, "I feel suicidal"),
    (SELF_HARM, "I want to kill myself"),
    (SELF_HARM, "I want to take my own life"),
    (SELF_HARM, "I just want to end it all"),
    (SELF_HARM, "I keep thinking about dying"),
    (SELF_HARM, "I don't want to wake up tomorrow"),
    (SELF_HARM, "everyone would be better off dead"),
    (SELF_HARM, "there's no point in living like this"),
    (SELF_HARM, "I want to hurt myself"),
    (SELF_HARM, "I have been self harming"),
    (SELF_HARM, "i want to kms"),
    (SELF_HARM, "i just want it all to end"),
    (SELF_HARM, "some days i'd rather be dead"),
    (SELF_HARM, "i hurt myself on purpose"),
    (SELF_HARM, "sometimes i think i should just end it all"),
    (SELF_HARM, "I feel like ending things"),
    (SELF_HARM, "nobody would miss me if i was gone"),
    (SELF_HARM, "i'm tired of living"),
    (SELF_HARM, "i can't go on anymore"),
    (SELF_HARM, "i wish i was dead"),
    (SELF_HARM, "i'm going to take all my pills"),
]


# More of patients' own ways of saying each (texting, second-language English, typos,
# shouting, long stories, clinical shorthand): each must be caught as its kind.
PATIENT_WORDS: List[Tuple[str, str]] = [
    (
        "breathing",
        "since my appointment i've had this stabbing pain under my shoulder blade every time i breathe in",
    ),
    ('breathing', "yo i think something's wrong, it feels like i can't get air all the way down"),
    ('breathing', 'My breathing has become very laboured'),
    ('breathing', 'i need help, breathing is so hard'),
    ('breathing', "I keep coughing and I can't breathe deeply"),
    ('breathing', "it's tough to breathe since the needles"),
    ('breathing', 'i feel really out of breath and dizzy after my IMS'),
    ('breathing', 'please help my chest is hurting a lot'),
    ('breathing', 'my wife says her chest is painful and she is sweating'),
    ('breathing', 'the left side of my chest aches when I breathe'),
    ('breathing', "i can't breathe in all the way"),
    ('breathing', 'Why is it so hard to breathe after my needling?'),
    ('breathing', "Is it normal that I can't catch my breath after dry needling today?"),
    ('breathing', 'shortness of breath right now'),
    ('breathing', "i'm getting winded just talking"),
    ('fainting', "she fainted and now she's confused"),
    ('fainting', 'my friend passed out in the car'),
    ('fainting', 'he blacked out after needling'),
    ('fainting', "I'm so lightheaded I think I'll faint"),
    ('fainting', "he's on the floor and won't respond"),
    ('fainting', 'my mum has collapsed'),
    ('fainting', 'she is not responding to anything we say'),
    ('fainting', 'grandpa is unresponsive in his chair'),
    ('bleeding', 'the needle spot is still bleeding after an hour'),
    ('bleeding', 'blood keeps dripping from the spot'),
    ('bleeding', 'my arm is bleeding a lot where they put the needle'),
    ('bleeding', "the bleeding won't quit"),
    ('stroke', 'his face is uneven and his arm is weak'),
    ('stroke', "she suddenly can't speak"),
    ('stroke', 'my mouth feels droopy and my words are slurred'),
    ('stroke', 'her left side went numb all of a sudden'),
    ('stroke', "he can't smile on one side"),
    ('stroke', 'my speech is slurred'),
    ('allergy', 'my face and throat are swelling'),
    ('allergy', "i'm having trouble swallowing and my lips are swollen"),
    ('allergy', 'throat is closing'),
    ('allergy', "I think I'm having an allergic reaction, my tongue is swelling"),
    (SELF_HARM, 'i just want it all to end'),
    (SELF_HARM, "i'm thinking about taking my life"),
    (SELF_HARM, 'i want to stop living'),
    (SELF_HARM, "I've been having thoughts about hurting myself"),
    (SELF_HARM, 'i think about suicide a lot'),
    ("breathing", "i can't take a full breath"),
    ('breathing', 'breathing hurts and gets shorter in the hour after treatment'),
    (
        'breathing',
        "it's been an hour since the needles in my upper back and my breathing is getting shorter "
        'and it hurts',
    ),
    ('breathing', "hurts to take a breath since my session, and it's getting worse"),
    ('breathing', 'each breath hurts more since i got needled'),
    ('breathing', 'every breath is painful now'),
    ('breathing', 'cant get a deep breath in after the needling'),
    ('breathing', 'im struggling to breath'),
    ('breathing', 'having a hard time breathing'),
    ('breathing', 'i have a hard time breathing since this morning'),
    ('breathing', 'hard time catching my breath'),
    ('breathing', 'i feel like i cant get enough air'),
    ('breathing', 'I am breathless after the treatment'),
    ('breathing', "what is dry needling? also i'm having trouble breathing"),
    ('breathing', 'How does it work. Also I cant breathe'),
    ('breathing', 'what is a trigger point and why is it so hard to breathe right now'),
    ('breathing', 'my chest hurts when i breathe in'),
    ('breathing', 'sharp pain in my chest when i inhale'),
    ('breathing', 'pain when breathing in since the needle went into my back'),
    ('breathing', 'my lung feels collapsed'),
    ('breathing', 'i think my lung collapsed'),
    ('breathing', 'i think i have a punctured lung'),
    ('breathing', 'chest feels tight'),
    ('breathing', 'tightness in my chest after ims'),
    ('breathing', 'my chest is so tight i can barely breathe'),
    ('breathing', 'i can barely breathe'),
    ('breathing', 'hes barely breathing'),
    ('breathing', 'MY CHEST HURTS SO BAD'),
    ('breathing', 'CANT BREATH HELP'),
    ('breathing', 'cnt breathe'),
    ('breathing', 'i cant breath good'),
    ('breathing', 'breathing is difficult for me now'),
    ('breathing', 'difficulty breathing after session'),
    ('breathing', 'trouble breathing'),
    ('breathing', 'me breathing very hard after needle, is pain'),
    ('breathing', 'the breath is short and painful after the needle'),
    ('breathing', 'my breath is getting shorter'),
    ('breathing', 'my breathing gets shorter and shorter'),
    ('breathing', 'short of breathe'),
    ('breathing', 'sob and chest pain since the appt'),
    ('breathing', 'chest pain'),
    ('breathing', 'crushing chest pain'),
    ('breathing', 'severe pain in chest radiating to my jaw'),
    ('breathing', 'my heart is racing and my chest hurts'),
    ('breathing', "i'm gasping for air"),
    ('breathing', 'she is turning blue'),
    ('breathing', 'I got needled near my ribs and now one side of my chest hurts when I breathe'),
    ('breathing', 'short breaths and pain in my side since the needle'),
    ('breathing', 'breathing hurts'),
    ('breathing', 'it hurts to breathe'),
    ('breathing', 'breathing is painful'),
    ('breathing', 'cant catch my breath'),
    ('breathing', 'hurts to breath deep'),
    ('fainting', 'she passed out and is barely responding'),
    ('fainting', 'he fainted and is still dizzy'),
    ('fainting', "I fainted after my session and I'm still really dizzy"),
    ('fainting', 'i fainted and now i still feel dizzy and weak'),
    ('fainting', 'my mom fainted'),
    ('fainting', "he's not responding"),
    ('fainting', 'she isnt responding to me'),
    ('fainting', 'my husband is unresponsive'),
    ('fainting', 'he wont wake up'),
    ('fainting', "she's not waking up"),
    ('fainting', 'he is barely conscious'),
    ('fainting', "she's out cold"),
    ('fainting', 'he went limp and isnt answering'),
    ('fainting', 'my friend dropped to the floor and is not moving'),
    ('fainting', 'he collapsed in the hallway'),
    ('fainting', 'i keep blacking out'),
    ('fainting', "i feel like i'm going to pass out"),
    ('fainting', "I'm going to faint"),
    ('fainting', 'feeling faint and dizzy'),
    ('fainting', 'i almost fainted and the room is still spinning'),
    ('fainting', 'i nearly passed out'),
    ('fainting', 'she lost consciousness'),
    ('fainting', 'he lost consciousness for a minute'),
    ('fainting', 'my wife is not answering me and her eyes are closed'),
    ('fainting', 'MY SON PASSED OUT'),
    ('fainting', 'he faint after treatment, not wake'),
    ('fainting', 'she is fainted and no respond'),
    ('fainting', "he is dizzy and can't stand up, he fainted twice"),
    ('fainting', "can't wake him up"),
    ('fainting', 'he is unconcious'),
    ('fainting', "she's having a fit"),
    ('fainting', 'he is convulsing'),
    ('bleeding', 'the needle spot wont stop bleeding'),
    ('bleeding', "it won't stop bleeding"),
    ('bleeding', 'still bleeding after 30 minutes of pressure'),
    ('bleeding', "the bleeding hasn't stopped"),
    ('bleeding', "the bleeding just won't stop"),
    ('bleeding', 'cant stop the bleeding from where the needle was'),
    ('bleeding', 'blood is gushing out'),
    ('bleeding', 'im bleeding alot from the needle hole'),
    ('bleeding', "there's blood everywhere"),
    ('bleeding', 'blood wont stop coming out'),
    ('bleeding', 'the blood is not stopping'),
    ('bleeding', 'bleeding not stop'),
    ('bleeding', "it's been bleeding for an hour"),
    ('bleeding', "bleeding for 20 minutes and won't clot"),
    ('bleeding', 'pressing on it but it still bleeds'),
    ('bleeding', 'STILL BLEEDING HELP'),
    ('bleeding', 'the gauze is soaked with blood'),
    ('stroke', 'face drooping'),
    ('stroke', 'her face is drooping'),
    ('stroke', 'his face droops on one side'),
    ('stroke', 'one side of my face is drooping'),
    ('stroke', 'his speech is slurred'),
    ('stroke', "she's slurring her words"),
    ('stroke', 'he is talking funny and cant lift his arm'),
    ('stroke', 'arm weakness on one side'),
    ('stroke', 'my arm suddenly went weak and my face feels numb'),
    ('stroke', 'suddenly cant move my right arm'),
    ('stroke', 'i cant feel one side of my body'),
    ('stroke', 'numbness on one side of the face'),
    ('stroke', 'my face went numb on one side'),
    ('stroke', 'he cant talk properly and his mouth is crooked'),
    ('stroke', 'i think im having a stroke'),
    ('stroke', 'is this a stroke? her face is droopy'),
    ('stroke', "my dad's face is drooping and his speech is slurred"),
    ('stroke', 'FACE DROOPING AND CANT TALK'),
    ('stroke', 'his smile is crooked all of a sudden'),
    ('stroke', 'sudden confusion and trouble speaking'),
    ('stroke', "he suddenly can't see out of one eye and his arm is weak"),
    ('allergy', 'my throat is closing up'),
    ('allergy', 'my lips are swelling'),
    ('allergy', 'my face is swelling up'),
    ('allergy', 'tongue swelling and hard to swallow'),
    ('breathing', "I'm having an allergic reaction and can't breathe well"),
    ('allergy', 'severe allergic reaction'),
    ('allergy', 'think im in anaphylactic shock'),
    ('allergy', 'anaphylactic reaction'),
    ('allergy', 'hives everywhere and my throat is tight'),
    ('allergy', 'i broke out in hives and my lips are swollen'),
    ('allergy', 'my eyes and lips are puffing up'),
    ('allergy', 'throat feels tight and swollen'),
    ('allergy', "i'm allergic to something and my throat is tight"),
    ('allergy', 'I need my epinephrine'),
    ('allergy', "i can't swallow and my throat is swelling"),
    (SELF_HARM, 'thoughts of suicide'),
    (SELF_HARM, 'i have thoughts of suicide'),
    (SELF_HARM, "I've been having suicidal thoughts"),
    (SELF_HARM, 'i want to die'),
    (SELF_HARM, 'i wanna die'),
    (SELF_HARM, 'I just want to die'),
    (SELF_HARM, 'i dont want to be alive anymore'),
    (SELF_HARM, "i don't want to live anymore"),
    (SELF_HARM, "i'm thinking of ending my life"),
    (SELF_HARM, 'ive been thinking about ending it'),
    (SELF_HARM, "I'm going to end my life"),
    (SELF_HARM, 'kms'),
    (SELF_HARM, 'thinking of killing myself'),
    (SELF_HARM, 'i cut myself again last night'),
    (SELF_HARM, 'i have a plan to end my life'),
    (SELF_HARM, 'everyone would be better off without me'),
    (SELF_HARM, 'i want to disappear forever'),
    (SELF_HARM, 'I want to end things'),
    (SELF_HARM, 'i want to overdose on my pills'),
    (SELF_HARM, 'I no want to live, too much pain'),
    (SELF_HARM, 'life is not worth living with this pain'),
    (SELF_HARM, "what is dry needling? honestly i've been thinking of suicide"),
    (SELF_HARM, "i wish i wasn't alive"),
    ('breathing', 'no i cant breathe'),
    ('breathing', 'i dont know what to do i cant breathe'),
    ('breathing', 'im not ok, my chest is really tight'),
    ('breathing', 'not sure whats going on but breathing hurts'),
    (
        'breathing',
        'So I went in this morning for IMS on my upper back, which has been bothering me since I '
        'moved house. The physio put a few needles around my shoulder blade and it was fine. Now, '
        'about an hour later, breathing is starting to hurt and each breath feels shorter. What '
        'should I do?',
    ),
    ('breathing', 'me chest is pain and breath no good'),
    ('breathing', 'i feel pressure in my chest'),
    ('breathing', 'theres a weird pain in my chest now'),
    ('breathing', 'my chest kills when i breathe'),
    ('breathing', 'breathing feels really hard since the treatment'),
    ('breathing', 'my breathing is off and my chest hurts'),
    ('breathing', 'i am having breathing problems'),
    ('breathing', 'having breathing difficulties'),
    ('breathing', 'i cant breathe right'),
    ('breathing', "I feel like I'm suffocating"),
    ('breathing', 'cant breathe!!!'),
    ('breathing', 'my chest feels weird and tight'),
    ('breathing', 'sharp chest pains'),
    ('fainting', 'he fell over and isnt waking up'),
    ('fainting', 'she passed out in the waiting room and is only semi awake'),
    ('fainting', 'i keep nearly fainting and im still dizzy'),
    ('fainting', 'he is breathing but not responding'),
    ('fainting', 'my mom is not responsive'),
    ('fainting', 'I fainted twice since the session and still feel dizzy'),
    ('bleeding', 'the blood wont stop'),
    ('bleeding', 'i am bleeding a lot'),
    ('bleeding', 'bleeding heavy from needle spot'),
    ('stroke', 'left side of her face is drooping'),
    ('stroke', 'his face went all droopy'),
    ('stroke', 'my face is numb on one side and my arm is weak'),
    ('stroke', 'she is confused and slurring'),
    ('stroke', "he can't raise both arms"),
    ('allergy', 'my whole face is swelling up'),
    ('allergy', "i'm breaking out in hives and my throat is scratchy and tight"),
    ('allergy', 'she is having an allergic reaction and her lips are huge'),
    (SELF_HARM, "i'm going to kill myself"),
    (SELF_HARM, 'been thinking of suicide lately'),
    (SELF_HARM, 'part of me wants to die'),
    (SELF_HARM, 'i want to die honestly'),
    (SELF_HARM, 'thinking about ending my life because of this pain'),
    (SELF_HARM, "i've thought about ending it all"),
    (SELF_HARM, "i don't see the point in living"),
    (SELF_HARM, 'i sometimes want to hurt myself'),
    ('breathing', "i feel like i'm drowning, can't get air in"),
    ('breathing', 'Breathing is becoming really difficult'),
    ('breathing', "my husband's breathing is very shallow"),
    ('breathing', 'having a really hard time getting a breath'),
    ('breathing', 'sudden sharp pain on the right side of my chest when breathing in'),
    ('breathing', 'it feels like someone is squeezing my chest'),
    ('breathing', 'Ever since they needled near my collarbone it hurts to inhale'),
    ('breathing', 'my chest hurts'),
    ('breathing', 'chest hurting bad'),
    ('breathing', 'ok this is scary, i can hardly breathe'),
    ('breathing', "I can't breath and I'm panicking"),
    ('breathing', 'breathe hurts'),
    ('breathing', 'Difficulty in breathing after dry needling of the trapezius'),
    ('breathing', 'I am feeling chest tightness'),
    ('breathing', 'pain in chest after IMS'),
    ('breathing', 'crushing feeling in my chest'),
    ('breathing', 'short of breath and lightheaded'),
    ('breathing', 'dyspnea post needling'),
    ('breathing', 'feels like i cant fill my lungs'),
    ('breathing', "can't get a proper breath"),
    ('fainting', 'he fainted and hit his head and is confused'),
    ('fainting', 'she is passed out on the couch and wont wake'),
    ('fainting', 'My father is unconscious after his session'),
    ('fainting', "he's completely unresponsive"),
    ('fainting', 'she went pale and collapsed'),
    ('fainting', 'i passed out for a few seconds and still feel woozy'),
    ('fainting', 'my son fainted and hes still super dizzy'),
    ('fainting', 'the patient isnt responding to us'),
    ('fainting', "he's not responding when we talk to him"),
    ('bleeding', 'blood keeps coming out of the needle hole'),
    ('bleeding', 'the puncture keeps bleeding through the bandaid'),
    ('bleeding', "I've been applying pressure for half an hour and it's still bleeding"),
    ('bleeding', 'lots of blood from where the needle was'),
    ('bleeding', 'bleeding wont stop!!'),
    ('bleeding', "it's bleeding really badly"),
    ('stroke', 'her face suddenly looks droopy'),
    ('stroke', 'his mouth is drooping to one side'),
    ('stroke', 'he is slurring'),
    ('stroke', "she can't speak properly and her arm is weak"),
    ('stroke', 'my left arm suddenly feels weak and heavy'),
    ('stroke', 'sudden numbness in my face'),
    ('stroke', 'i think my dad is having a stroke'),
    ('stroke', 'her speech is garbled'),
    ('allergy', 'my lips are swollen and my throat feels tight'),
    ('allergy', "I think I'm having an anaphylactic reaction"),
    ('allergy', 'throat swelling'),
    ('allergy', 'my eyes are swelling shut'),
    ('allergy', 'my tongue is swollen'),
    (SELF_HARM, "I've been thinking about killing myself"),
    (SELF_HARM, 'i want to end my life'),
    (SELF_HARM, 'im suicidal'),
    (SELF_HARM, 'sometimes i wish i could just die'),
    (SELF_HARM, 'i dont want to be here anymore'),
    (SELF_HARM, 'thinking about ending it'),
    (SELF_HARM, 'i have been harming myself'),
    (SELF_HARM, 'honestly i want to die, this pain never stops'),
    (SELF_HARM, "i'm planning to end my life"),
    (SELF_HARM, 'i feel like i want to die'),
]

# Calm messages with scary words, questions about risks, denials, history, workouts:
# none is an emergency.
CALM: List[str] = [
    "can knots in my back cause chest pain",
    'can needling cause a pneumothorax?',
    "what's the risk of a collapsed lung",
    "I'm worried about bleeding, I bruise easily",
    'can i faint from needles',
    'i get lightheaded around needles, any tips?',
    'is dry needling safe near the chest?',
    'my breathing muscles feel tight, can needling help the diaphragm?',
    'does it help with shortness of breath from tight muscles?',
    'is it ok to do IMS if I have COPD?',
    'I had a heart attack 5 years ago, is needling ok?',
    'can I get needling after a stroke',
    "I'm dying for a massage lol",
    'this question might sound dumb but what is a trigger point',
    'I killed my leg workout yesterday, can I get needled today?',
    "what's your emergency cancellation policy",
    'emergency appointment?',
    'the emergency doctor told me to try physio, what is IMS?',
    "I'm dying to try it",
    'im dying to try dry needling',
    "what's the emergency number for booking",
    'what is the emergency number to book',
    'is there an emergency appointment available',
    'do you take emergency appointments?',
    'Is dry needling used in emergency rooms?',
    'what counts as an emergency after dry needling?',
    'What should I do in an emergency after treatment?',
    "is it an emergency if I'm sore the next day?",
    "this isn't an emergency, just a question about knots",
    'not an emergency but can i exercise after',
    'this knot is killing me, what causes it?',
    'my back is killing me',
    'can dry needling cause a collapsed lung?',
    'can it collapse a lung?',
    'is there a risk of a punctured lung?',
    'what if I faint during the session?',
    "I'm afraid I'll faint when I see the needles",
    "I'm afraid I'll faint",
    'I tend to faint at the sight of blood, can I still have it?',
    'does it bleed much?',
    'will I bleed?',
    'is it normal to bleed a little after?',
    'is some bleeding normal',
    'can needling cause a stroke?',
    'I had a stroke two years ago, can I get dry needling?',
    'my mom had a stroke last year, is it safe for her?',
    "I'm allergic to latex, is that a problem?",
    'I have asthma, can I still get needled?',
    'can it make it hard to breathe?',
    'does it hurt to breathe afterward?',
    'no chest pain, just a sore shoulder',
    "I don't have any trouble breathing, just wondering about soreness",
    "I'm not short of breath, but my back aches",
    'I had a panic attack last year at the dentist, will needles trigger that?',
    'What if I pass out?',
    'does dry needling help with breathing muscles?',
    'I want to die laughing, this bot is funny',
    'my legs are dead after the gym, can I get needling',
    "I'm dead tired after work, can I come in the evening?",
    'the pain is killing me lol what is a trigger point',
    'I nearly died of boredom in the waiting room',
    'my chest muscles are tight from bench press, can needling help?',
    'can you do dry needling on tight chest muscles?',
    'i have a tight chest from lifting, is needling used for pecs?',
    'can i do breathing exercises after',
    'is shortness of breath a side effect?',
    'who do I call in an emergency?',
    "what's your emergency contact",
    'emergency contact number?',
    'I was told to call 911 if I had trouble breathing, is that right?',
    'do you treat people after a stroke?',
    'can it help numbness in my arm from a pinched nerve?',
    'my arm is weak from an old injury, can needling help?',
    'my hand goes numb when I type, could that be a trigger point?',
    'i feel faint at the thought of needles lol',
    'killing it at the gym after my first session',
    'suicide squad is my favourite movie',
    'i fainted once at the dentist years ago, is needling ok for me?',
    'I used to get short of breath when running, will needling help my diaphragm?',
    'Can needling help after a stroke?',
    'my grandma had a stroke, could she try it',
    'what should i do if i feel dizzy after',
    'is it normal to feel faint after',
    'can it cause bleeding?',
    'will the needle site bleed?',
    'do the needles make you bleed',
    'does needling hurt',
    'the gym is killing me',
    "I'm dead serious, how does it work",
    'lol this wait is killing me',
    'i have a heavy chest workout tomorrow, can i get needled today?',
    'my chest feels tight from bench press, can needling help pecs',
    'my pecs are tight, can you needle the chest?',
    'breathing exercises help my stress',
    "what's the diff between deep breathing and needling lol",
    "I can't wait to try it",
    'i cant believe how well it worked',
    'my neck is killing me and i cant turn my head',
    'I cant lift my arm above my shoulder since my rotator cuff injury, can needling help?',
    'my arm is weak since surgery, is dry needling useful?',
    'I have numbness in my fingers from my neck, could trigger points do that?',
    'can dry needling make you faint?',
    'is fainting a side effect',
    'do people ever pass out during dry needling?',
    'has anyone ever passed out from this?',
    'I passed my exam, can I book a session to celebrate?',
    'the blood test was fine, can i get needled',
    'I stopped bleeding quickly last time, is that normal?',
    "I'm not suicidal, just frustrated with the pain",
    "I don't want to die of old age with this back pain lol",
    'is this emergency? no, just curious about how it works',
    'Can I get dry needling if I have asthma?',
    'what happens if the needle hits a lung?',
    'is it possible to puncture a lung with dry needling',
    'how often does pneumothorax happen',
    "I've heard people can faint during IMS, is that true?",
    'does the needle site bleed afterwards?',
    'is a small drop of blood normal?',
    'Can IMS help with chest muscle pain?',
    'can you needle the pec minor?',
    "I'm a bit short on time, how long is a session?",
    "I'm running short on breath during my runs, could trigger points be why?",
    'I had a mini stroke 10 years ago, is needling safe?',
    'my mom had a stroke and has spasticity, can IMS help?',
    'does it help with slurred speech after a stroke',
    "I'm allergic to nickel, are the needles nickel free?",
    'my face is sore from jaw clenching, can you needle the jaw?',
    'will my arm feel weak after needling?',
    'my legs feel heavy after squats, can I get needled?',
    "what's the emergency plan at your clinic?",
    'Is dry needling an emergency treatment?',
    'do you handle emergency appointments',
    'killer knots in my traps, what are they',
    "i'm dying for some relief from these knots",
    'can i die from dry needling',
    'has anyone died from dry needling?',
    "i'm so tired of this pain, what causes knots",
    'this pain makes me want to scream, can needling help',
    'I hurt myself at the gym, can needling help?',
    'i cut myself shaving, can i still get needled tomorrow',
]


def patterns() -> List[Tuple[str, re.Pattern]]:
    """Every (kind, pattern) of the layer."""
    found = [(SELF_HARM, p) for p in SELF_HARM_COMPILED]
    return found + [(kind, p) for kind, compiled in COMPILED.items() for p in compiled]


@pytest.mark.parametrize(("kind", "text"), PHRASES)
def test_each_phrasing_is_caught_as_its_kind(kind: str, text: str) -> None:
    flag = find_red_flag(text)
    assert flag is not None and flag.kind == kind, (text, flag)


def test_every_pattern_has_a_phrasing_only_it_catches() -> None:
    """So removing or breaking any one pattern makes a phrasing above go unnoticed."""
    texts = [normalise(text) for _, text in PHRASES]
    lonely = [
        pattern.pattern
        for _, pattern in patterns()
        if not any(
            pattern.search(text) and not any(o.search(text) for _, o in patterns() if o is not pattern)
            for text in texts
        )
    ]
    assert not lonely, lonely


@pytest.mark.parametrize(("kind", "text"), PATIENT_WORDS)
def test_patients_own_words_are_caught_as_their_kind(kind: str, text: str) -> None:
    flag = find_red_flag(text)
    assert flag is not None and flag.kind == kind, (text, flag)
    assert flag.intent == (SELF_HARM if kind == SELF_HARM else EMERGENCY)


@pytest.mark.parametrize("text", CALM)
def test_calm_messages_are_no_emergency(text: str) -> None:
    assert find_red_flag(text) is None


@pytest.mark.parametrize(
    ("typed", "read"),
    [
        ("chset pain", "chest pain"),
        ("he is unconcious", "he is unconscious"),
        ("i want to kill myslef", "i want to kill myself"),
        ("cant breth", "cant breath"),
        ("bleding wont stop", "bleeding wont stop"),
    ],
)
def test_slips_of_the_keyboard_in_symptom_words_are_read(typed: str, read: str) -> None:
    assert normalise(typed) == read
    assert find_red_flag(typed) is not None


@pytest.mark.parametrize(
    "text", ["I painted my fence after needling", "can it collapse a lung?", "chess lessons"]
)
def test_real_words_are_not_read_as_symptom_words(text: str) -> None:
    """Only a dropped, doubled or swapped letter is a slip: "painted" stays "painted"."""
    assert normalise(text) == text.lower()
    assert find_red_flag(text) is None


def test_a_symptom_in_the_second_question_of_a_message_counts() -> None:
    flag = find_red_flag("what is dry needling? also my breathing is getting shorter since my session")
    assert flag is not None and flag.intent == EMERGENCY


def detect(text: str, intent: str) -> str:
    """The intent the detector leaves on a message the classifiers gave `intent`."""
    from rasa.shared.nlu.training_data.message import Message

    from components.red_flags import RedFlagDetector

    message = Message(data={"text": text, "intent": {"name": intent, "confidence": 0.9}})
    RedFlagDetector().process([message])
    return message.get("intent")["name"]


@pytest.mark.parametrize(
    "text",
    [
        "is there an emergency appointment available",
        "who do I call in an emergency?",
        "I don't have any trouble breathing, just wondering about soreness",
        "is shortness of breath a side effect?",
        "has anyone ever passed out from this?",
        "I nearly died of boredom in the waiting room",
        "what's the diff between deep breathing and needling lol",
        "I've never had it. What's the process like once I'm in the room?",
    ],
)
def test_a_calm_message_the_classifier_took_for_an_emergency_is_handed_off(text: str) -> None:
    """No red flag, and the message reads calm: no 911, the phone instead."""
    assert detect(text, EMERGENCY) == "nlu_fallback"


@pytest.mark.parametrize(
    "text",
    ["something is really wrong with my dad after his treatment", "help, she looks awful and is sweating"],
)
def test_the_classifiers_emergency_stands_when_nothing_reads_calm(text: str) -> None:
    """The classifier is a second net for emergencies the phrases do not know."""
    assert detect(text, EMERGENCY) == EMERGENCY


def test_a_red_flag_overrides_any_intent() -> None:
    assert detect("what is dry needling? also i can't breathe", "faq") == EMERGENCY
    assert detect("i want to end my life", "out_of_scope") == SELF_HARM


def after(previous_intent: str, text: str) -> str:
    """The intent the detector gives `text` right after a message with `previous_intent`."""
    from rasa.shared.core.events import UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker
    from rasa.shared.nlu.training_data.message import Message

    from components.red_flags import RedFlagDetector

    tracker = DialogueStateTracker.from_events(
        "patient", [UserUttered("before", intent={"name": previous_intent, "confidence": 1.0})]
    )
    message = Message(data={"text": text, "intent": {"name": "nlu_fallback", "confidence": 0.0}})
    RedFlagDetector().process([message], tracker=tracker)
    return message.get("intent")["name"]


@pytest.mark.parametrize(
    "text",
    ["it's getting worse", "what do i do??", "still the same", "pressing harder isn't helping", "hurry"],
)
def test_after_an_emergency_a_message_that_says_it_goes_on_is_the_emergency(text: str) -> None:
    assert after(EMERGENCY, text) == EMERGENCY


def test_after_thoughts_of_self_harm_asking_what_to_do_gets_the_helpline_again() -> None:
    assert after(SELF_HARM, "what should i do") == SELF_HARM


@pytest.mark.parametrize("text", ["ok thanks, the ambulance is here", "he's fine now, false alarm", "ok"])
def test_after_an_emergency_a_calm_message_is_no_emergency(text: str) -> None:
    assert after(EMERGENCY, text) != EMERGENCY


def test_the_same_words_without_an_emergency_before_are_no_emergency() -> None:
    assert after("faq", "it's getting worse") != EMERGENCY
