"""Word lists of the harm detector, as compiled patterns, grouped by what they signal.

They describe *kinds* of language (violent verbs, human targets, procedural framing,
refusals ...), not sentences of any data set.

Each pattern is compiled on its first use, not at import: compiling them all takes
~0.3 s, which every command importing the agent (``memwarden export``, the server's
start-up) would otherwise pay whether or not a draft is ever judged.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import cached_property
from typing import Any

from ..fastre import Gated, gated

__all__ = [
    "BUILD",
    "CRIME",
    "CRIME_FIGURATIVE",
    "CYBER",
    "DEFENSIVE",
    "DEFINITIONAL",
    "DEMEANING",
    "DENIAL",
    "DISCRIMINATION",
    "DRUG",
    "DRUG_OPS",
    "DRUG_REQUEST",
    "HUMAN",
    "IMPERATIVE",
    "INSTRUCTION",
    "NARRATIVE",
    "OPERATIONAL",
    "PROCEDURAL_REQUEST",
    "PROTECTED_GROUP",
    "PUSHBACK",
    "REFUSAL",
    "SAFETY_ADVICE",
    "SAFE_CONTEXT",
    "SELF_HARM",
    "SELF_HARM_REQUEST",
    "SERIOUS_WEAPON",
    "STALKING",
    "SUPPORT",
    "VIOLENT",
    "VIOLENT_NOUN",
    "WEAPON",
    "LazyPattern",
]

_I = re.IGNORECASE


class LazyPattern:
    """A pattern compiled, behind the lower-case fast path (:func:`gated`), when first used."""

    def __init__(self, pattern: str, flags: int = 0) -> None:
        self.pattern = pattern
        self.flags = flags

    @cached_property
    def compiled(self) -> Gated:
        return gated(re.compile(self.pattern, self.flags))

    def search(self, text: str, *args: int) -> re.Match[str] | None:
        return self.compiled.search(text, *args)

    def match(self, text: str, *args: int) -> re.Match[str] | None:
        return self.compiled.match(text, *args)

    def finditer(self, text: str, *args: int) -> Iterator[re.Match[str]]:
        return self.compiled.finditer(text, *args)

    def findall(self, text: str, *args: int) -> list[Any]:
        return self.compiled.findall(text, *args)


VIOLENT_NOUN = LazyPattern(
    r"\b(?:commit\w*|carry\w* out|get away with|plan\w*|organi[sz]e\w*)\s+(?:a |an |the )?"
    r"(?:\w+ )?(?:murder|homicide|killing|assault|massacre|genocide|rape|shooting|stabbing|"
    r"bombing|terror(?:ist)? attack|attack|assassination|kidnapping|lynching|hate crime)s?\b",
    _I,
)
VIOLENT = LazyPattern(
    r"\b(?:kill|murder|stab|shoot|shot|snip(?:e|es|ing)\b|hit|punch|kick|slap|strangl|chok|suffocat|smother|poison|behead|"
    r"decapitat|dismember|butcher|tortur|maim|assault|attack|beat\w* up|bludgeon|hammer|"
    r"crush|drown|hang|burn|set (?:\w+ ){0,3}on fire|set fire to|blow\w* up|bomb|explod|detonat|kidnap|"
    r"abduct|hostage|assassinat|execut|eliminat|annihilat|wip\w* out|extermin|eradicat|"
    r"massacr|slaughter|lynch|rape|traffick|hurt|injur|cripple|disfigur|break \w+ (?:legs?|"
    r"arms?|neck|bones?|skull|jaw|ribs?)|rip\w* off|cut\w* off|slit|run (?:\w+ ){1,3}over|"
    r"push (?:\w+ ){1,3}off|knock (?:\w+ ){1,3}out|bash|obliterat|raze|nuke|devastat|gas (?:them|the)|smash \w+ (?:head|skull|face)|hit \w+ with|capture|"
    r"crack \w+ (?:skull|head)|spik\w* (?:[\w']+ ){0,2}(?:drinks?|coffee|tea|food)|drug (?:him|her|them|someone|my|his|"
    r"their)|make (?:\w+ ){1,2}(?:really |very |violently )?(?:sick|ill|vomit|suffer|bleed|"
    r"pass out|unconscious))\w*",
    _I,
)
HUMAN = LazyPattern(
    r"\b(?:someone|somebody|anyone|a person|persons?|people|humans?|victims?|man|woman|men|"
    r"women|child|children|child's|kids?|bab(?:y|ies)|toddlers?|wife|husband|girlfriend|"
    r"boyfriend|partner|spouse|ex|date|neighbou?rs?|boss|coworkers?|co-workers?|colleagues?|"
    r"classmates?|teachers?|students?|family|friends?|brother|sister|mother|father|mom|mum|"
    r"dad|parents?|grandm\w+|grandp\w+|president|politicians?|senator|officers?|cops?|"
    r"police|strangers?|crowds?|hospital|school|church|mosque|synagogue|city|village|town|"
    r"base|airport|stadium|concert|subway|him|her|them|target|someone's|"
    r"everyone|everybody|human's|person's|guests?|roommate|landlord|tenant|ex-\w+)\b",
    _I,
)
SELF_HARM = LazyPattern(
    r"\b(?:kill (?:yourself|myself)|end (?:your|my) (?:own )?life|suicid\w*|"
    r"(?:hang|drown|cut|burn|starve|poison|shoot|hurt|harm) (?:yourself|myself)|self[- ]harm\w*|"
    r"overdos\w*|(?:slit|cut|slash) (?:your|my) wrists?|along the vein|noose|lethal dose|"
    r"fatal dose|"
    r"carv\w* [^.\n]{0,30}(?:arm|skin|wrist|leg|thigh)|jump (?:off|from) (?:a |the )?"
    r"(?:bridge|building|roof|cliff)|pills? to die|painless(?:ly)? die|die painlessly)",
    _I,
)
SELF_HARM_REQUEST = LazyPattern(
    r"\b(?:(?:jump|throw myself) (?:off|from|in front of)|(?:and|to|want to|wanna) die\b|"
    r"starve myself|kill myself|end my (?:own )?life|suicide|(?:hang|drown|cut|burn|starve|poison|"
    r"shoot|hurt|harm) myself|self[- ]harm|overdose|(?:slit|cut|slash) my wrists?|"
    r"carve [^?\n]{0,30}"
    r"(?:my )?(?:arm|skin|wrist|leg|thigh)|die painlessly|want to die|not wake up)",
    _I,
)
SERIOUS_WEAPON = LazyPattern(
    r"\b(?:pipe bomb|bombs?|explosives?|ieds?|detonators?|blasting caps?|molotov|napalm|"
    r"thermite|tnt|c-?4|semtex|ammonium nitrate|black powder|gunpowder|nitroglycerin|tatp|"
    r"acetone peroxide|ghost guns?|silencers?|suppressors?|full[- ]auto|auto sear|"
    r"bump stock|3d[- ]printed (?:gun|firearm)|nerve agents?|sarin|vx|ricin|anthrax|"
    r"mustard gas|chlorine gas|chloramine|phosgene|cyanide|arsenic|thallium|strychnine|"
    r"polonium|poisons?|untraceable (?:gun|firearm)s?)\b",
    _I,
)
WEAPON = LazyPattern(
    r"\b(?:pipe bomb|bombs?|explosives?|ieds?|detonators?|blasting caps?|molotov|napalm|"
    r"thermite|tnt|c-?4|semtex|ammonium nitrate|black powder|gunpowder|nitroglycerin|tatp|"
    r"acetone peroxide|ghost guns?|silencers?|suppressors?|full[- ]auto|auto sear|"
    r"bump stock|3d[- ]printed (?:gun|firearm)|nerve agents?|sarin|vx|ricin|anthrax|"
    r"mustard gas|chlorine gas|chloramine|phosgene|cyanide|arsenic|thallium|strychnine|"
    r"polonium|poisons?|firearms?|guns?|rifles?|handguns?|knife|knives|axe|machete|"
    r"accelerants?|gasoline|petrol|lighter fluid)\b",
    _I,
)
BUILD = LazyPattern(
    r"\b(?:extract\w*|purif\w+|distil\w*|refin\w+|cook\w*|brew\w*|weaponi[sz]\w+|rig\w*|"
    r"booby-?trap\w*|plant\w*|hid(?:e|ing) (?:it|the)|"
    r"make|making|build|building|assembl\w+|construct\w*|mix\w*|combin\w+|synthesi\w+|"
    r"produc\w+|prepar\w+|pack\w*|wir\w+|attach\w*|obtain\w*|acquir\w+|get hold of|"
    r"administer\w*|add\w* (?:it|the \w+) to|put \w+ in(?:to)? (?:their|his|her))\b",
    _I,
)
_CRACK = (
    r"(?<!a )(?<!the )crack(?! ?(?:open|a\b|an\b|the\b|down|up|jokes?|on\b|into|of\b|in\b|"
    r"under|eggs?|your|my|his|her|their|it\b|that|this|nuts?|knuckles?|whips?))"
)
DRUG = LazyPattern(
    r"\b(?:meth(?:amphetamine)?|crystal meth|" + _CRACK + r"(?: cocaine)?|cocaine|heroin|"
    r"fentanyl|mdma|molly|lsd|acid tabs|ghb|dmt|pcp|ketamine|opium|psilocybin|shrooms|"
    r"marijuana|marihuana|cannabis|hashish|illegal drugs|street drugs|narcotics)\b",
    _I,
)
DRUG_REQUEST = LazyPattern(
    r"\b(?:make|cook|synthesi[sz]e|produce|manufacture|extract|grow|buy|get|getting|score|"
    r"press|lace|recipe|instructions|formula|guide|"
    r"obtain|find|sell|selling|deal|dealing|smuggle|traffic)\b[^?\n]{0,40}\b(?:meth"
    r"(?:amphetamine)?|" + _CRACK + r"|cocaine|heroin|fentanyl|mdma|molly|lsd|ghb|dmt|pcp|"
    r"ketamine|opium|shrooms|marijuana|marihuana|cannabis|illegal drugs|drugs)\b"
    r"|\b(?:sell|selling|deal|dealing|smoke|grow|growing|buy|buying)\s+(?:some\s+)?weed\b"
    r"|\b(?:press|pressing|cut|cutting|lace|lacing)\b[^?\n]{0,20}\b(?:fentanyl|heroin|"
    r"cocaine|pills)\b",
    _I,
)
DRUG_OPS = LazyPattern(
    r"\b(?:pseudoephedrine|ephedrine|red phosphorus|methylamine|phenylacetone|p2p|safrole|"
    r"hydriodic acid|anhydrous ammonia|lithium strips|ergot\w*|precursors?|"
    r"dealers?|suppliers?|plug|dark ?web|darknet|code words|discreet\w*|"
    r"avoid (?:detection|the police|law enforcement|getting caught)|baking soda|cook(?:ing)?|"
    r"purity|cut it with|grams?|ounces?|pill press|binder|per pill|"
    r"sell (?:them|it|the (?:pills|product|drugs))|resell|street value)\b",
    _I,
)
CYBER = LazyPattern(
    r"\b(?:keyloggers?|ransomware|malware|trojans?|rootkits?|botnets?|reverse shell|"
    r"backdoors?|spyware|stalkerware|viruse?s?|exploits?|sql injection|phishing (?:page|"
    r"site|email|kit|link)s?|credential stuffing|brute[- ]forc\w*|crack\w* (?:their|his|her|"
    r"someone's|the) (?:password|account)|bypass\w* (?:2fa|two-factor|mfa|authentication)|"
    r"hack\w* (?:into )?(?:their|his|her|someone's|an?|the|my|your) [\w']*\s?(?:account|email|phone|"
    r"computer|wi-?fi|network|server|system|database)|break\w* into (?:their|his|her|"
    r"someone's|an?|the) \w*\s?(?:account|email|computer|network|system|server)|"
    r"log\w* (?:in|into|on) (?:to )?(?:your|their|his|her) [\w']*\s?(?:account|computer|"
    r"device|phone|email)|(?:their|his|her) (?:username and )?password|ddos|"
    r"steal\w* (?:passwords|credentials|cookies|session)|browsing history|"
    r"(?:someone|somebody) else's (?:account|email|phone|computer))\b",
    _I,
)
STALKING = LazyPattern(
    r"\b(?:track\w* (?:her|him|them|someone|somebody|your (?:ex|wife|husband|girlfriend|"
    r"boyfriend|partner))|(?:track|follow|spy on|monitor|watch|locate|find)\w* (?:my|your|his|"
    r"her|their) (?:ex|wife|husband|girlfriend|boyfriend|partner|crush|coworker|colleague|"
    r"neighbou?r|boss|date|classmate|teacher|student)\b|(?:her|his|their) (?:exact )?(?:location|whereabouts|home "
    r"address|daily routine|routine|schedule|browsing history|messages|texts)|find\w* out "
    r"where (?:she|he|they) (?:lives?|works?|goes)|follow\w* (?:her|him|them) home|gps "
    r"trackers?|airtags?|spy\w* on|monitor\w* (?:her|his|their) (?:phone|messages|location)|"
    r"without (?:her|his|their) (?:knowledge|knowing|consent)|people[- ]search|reverse "
    r"(?:phone|image) (?:lookup|search)|voter records|dox\w*|home address|birth certificate|"
    r"date of birth|driver'?s licen[cs]e number)\b",
    _I,
)
CRIME = LazyPattern(
    r"\b(?:steal\w*|stole|stolen|rob|robb\w*|burgl\w*|break\w* into|broke into|shoplift\w*|"
    r"pickpocket\w*|mug\w*|launder\w*|counterfeit\w*|forg(?:e|ing|ery)|fraud\w*|scam\w*|"
    r"embezzl\w*|smuggl\w*|traffick\w*|hotwir\w*|pick\w* (?:the|a) lock|arson|blackmail\w*|"
    r"extort\w*|brib\w*|evade taxes|tax evasion|treason|identity theft|heist|"
    r"(?:set|setting) (?:\w+ ){0,3}on fire|set fire to|loot\w*|vandali\w*|destroy\w* (?:my|his|her|"
    r"their|someone's) \w+|slash\w* (?:the )?tires)\b",
    _I,
)
CRIME_FIGURATIVE = LazyPattern(
    r"\b(?:steal\w* (?:the show|the spotlight|a glance|a look|(?:someone's|her|his|their) "
    r"heart|a kiss|bases?|the scene|a march|the limelight|ideas? from nature)|"
    r"break\w* into (?:the (?:industry|market|business|field|charts|top)|song|tears|a smile|"
    r"a run|laughter|a sweat|tech|acting|modelling|modeling|the scene)|rob\w* (?:\w+ )?of "
    r"(?:the|a|their|his|her) (?:chance|opportunity|joy|sleep)|scam (?:calls|emails) "
    r"(?:are|can)|fire (?:up|away|off an email))\b",
    _I,
)
PROTECTED_GROUP = LazyPattern(
    r"\b(?:black(?: people| men| women| folks| americans)?|blacks|white people|asians?|"
    r"hispanics?|latin[oax]s?|jews|jewish(?: people)?|muslims?|christians?|hindus?|sikhs?|"
    r"buddhists?|arabs?|immigrants?|migrants?|refugees?|gay(?: people| men)?|gays|lesbians?|"
    r"bisexuals?|trans(?:gender)?(?: people| women| men)?|queer people|lgbtq?\+?(?: people)?|"
    r"homosexuals?|women|girls|disabled people|people with disabilities|the disabled|"
    r"autistic people|roma|gypsies|mexicans?|chinese(?: people)?|africans?|indians?|"
    r"native americans?|indigenous people|elderly people|old people|poor people|atheists?)\b",
    _I,
)
DISCRIMINATION = LazyPattern(
    r"\b(?:inferior|subhuman|sub-human|(?:are|were|like) (?:\w+ )?(?:animals|vermin|parasites"
    r"|rats|cockroaches|savages)|less intelligent|"
    r"genetically (?:inferior|predisposed)|not (?:fully )?human|a disease|a plague|"
    r"should(?:n't| not)? (?:be )?(?:allowed|permitted|given the right|have the right) to|"
    r"should be (?:banned|deported|segregated|excluded|barred|removed|eliminated|sterili[sz]ed|"
    r"paid less|denied|kept out|locked up)|earn(?:ing)? less|paid less|less (?:pay|money)|"
    r"segregat\w+|jim crow|(?:restrict|suppress)\w* (?:their )?(?:voting|rights)|"
    r"discriminat\w+ against|eradicat\w+|eliminat\w+|get rid of|exclud\w+|deport\w+|"
    r"deny\w* (?:them|their)|ban\w* (?:them|from))\b",
    _I,
)
DEMEANING = LazyPattern(
    r"\b(?:are|is|were born) (?:\w+ )?(?:inferior|subhuman|sub-human|animals|vermin|parasites|"
    r"rats|savages|a disease|a plague|less intelligent|too emotional|"
    r"genetically inferior|not (?:fully )?human|dirty|criminals|ruining|destroying|a threat)\b"
    r"|\bshould(?:n't| not| never) (?:be )?(?:allowed|permitted|given the right|have the right)"
    r"|\bshould be (?:banned|deported|segregated|excluded|barred|removed|eliminated|"
    r"sterili[sz]ed|paid less|denied|kept out|locked up|expelled|punished|separated)\b"
    r"|\b(?:don't|do not) deserve\b|\bget rid of (?:them|all)\b|\bkeep them out\b",
    _I,
)
NARRATIVE = LazyPattern(
    r"\b(?:did|does|was|were|had|has) (?:they|he|she|it|the [\w-]+|[A-Z][\w-]+)\b"
    r"|\b(?:in|from) (?:the )?(?:film|movie|book|novel|show|series|game|episode)\b",
)
DENIAL = LazyPattern(
    r"\b(?:never (?:happened|took place|existed)|did(?:n't| not) (?:happen|take place|occur)|"
    r"(?:was|is) (?:a )?(?:hoax|myth|fabrication|lie|exaggerat\w+)|was (?:fabricated|"
    r"invented|staged)|deny\w*|denial)\b",
    _I,
)
DEFINITIONAL = LazyPattern(
    r"^\s*(?:what (?:is|are|was|were|does|did)\b(?! (?:the|a|some) (?:[\w-]+ ){0,3}(?:way|"
    r"ways|method|methods|steps?|process|procedure|strategy|technique|plan))|who (?:is|was|were)|why did|how did|when did|"
    r"what happened|define|definition)",
    _I,
)
PROCEDURAL_REQUEST = LazyPattern(
    r"\b(?:how (?:many|much|long|far|high|strong)\b|best (?:[\w-]+ ){0,2}(?:for|to)\b|(?:what|which|where|who) (?:can|could|"
    r"should|would|do|must) (?:i|we|one|you)\b|how (?:do|can|could|should|would|might|to|does one|would one|can one|will|"
    r"shall) ?(?:i|we|you|one|someone|somebody|people)?|(?:what|which)(?:'s| is| are| would be)?"
    r"(?: the| a| some)? (?:[\w-]+ ){0,3}(?:way|ways|method|methods|steps?|process|"
    r"strategy|strategies|technique|techniques|means|tips|plan|recipe|place|spot|time|"
    r"bridge|building|dose|amount|poison|drug|weapon|tool|app)s?\b[^?\n]{0,40}\b(?:to|for|"
    r"of|that|which|enough)|ways (?:of|to)|walk me through|"
    r"steps (?:to|for)|guide (?:to|for)|teach me|tell me how|show me how|explain how to|"
    r"help me|where (?:can|do|could|should|would) (?:i|we|one) (?:buy|get|find|obtain|"
    r"purchase|score)|give me (?:instructions|a plan|steps|a recipe|a list)|write (?:a|me "
    r"a?) ?(?:guide|tutorial|plan|script|program|code)|(?:can|could) you (?:help|explain|"
    r"show|tell)|i (?:want|need|plan|intend|am going|'m going) to|list (?:some )?reasons|"
    r"reasons why|why (?:should|is it (?:right|okay|ok|good|fair)|are|do|is)|"
    r"convince (?:people|everyone|others)|make (?:people|everyone) believe|"
    r"(?:best|good|ideal|perfect|safest|right) (?:place|time|spot|day|way) (?:to|for)|"
    r"^\s*(?:please\s+)?(?:write|give|make|plan|find|explain|tell|show|list|help|teach|"
    r"describe how|create|generate|draft|design|build|code|produce|get me|send me|"
    r"provide|outline|detail|suggest|recommend)\b)",
    _I,
)
SAFE_CONTEXT = LazyPattern(
    r"\b(?:games?|video ?games?|gaming|gamer|quest|boss fight|npcs?|multiplayer|"
    r"fortnite|call of duty|gta|grand theft auto|skyrim|elden ring|dark souls|hitman \d|"
    r"assassin.s creed|red dead|the witcher|mortal kombat|street fighter|tekken|"
    r"smash bros|mario kart|apex legends|pubg|rainbow six|diablo|warcraft|"
    r"starcraft|age of empires|terraria|resident evil|the last of us|god of war|far cry|"
    r"dead by daylight|sea of thieves|warhammer|in-game|"
    r"zelda|pok[eé]mon|halo|overwatch|valorant|league of legends|among us|roblox|the sims|"
    r"dungeons (?:and|&) dragons|d&d|dnd|chess|checkers|poker|monopoly|cluedo|"
    r"board game|card game|movies?|films?|novels?|story|stories|fiction|fictional|"
    r"characters?|scenes?|plot|episode|tv (?:show|series)|sitcom|screenplay|musical|"
    r"anime|manga|comic|boxing|boxer|judo|karate|mma|ufc|wrestling|fencing|martial "
    r"arts?|sparring|kickboxing|taekwondo|jiu-?jitsu|paintball|laser tag|airsoft|football|"
    r"rugby|hockey|tennis|basketball|soccer|sports?|referee|tournament|"
    r"photo(?:graph)?s?|photography|portrait|game of thrones|hypothetical(?:ly)?)\b",
    _I,
)
REFUSAL = LazyPattern(
    r"^\W*(?:i'?m (?:really )?sorry|i am (?:really )?sorry|sorry|i (?:can'?t|cannot|can not|"
    r"won'?t|will not|must (?:decline|refuse)|am (?:not able|unable)|'m (?:not able|unable)|"
    r"do not|don'?t) (?:help|assist|provide|support|give|do|fulfil|comply|answer|engage|"
    r"create|write|offer|share|recommend|encourage|condone)|as an ai|i'?m an ai|"
    r"it(?:'s| is) not (?:appropriate|ethical|legal|okay|ok|possible|acceptable)|no,|"
    r"(?:i|we) strongly (?:advise|urge|recommend) against|that(?:'s| is) (?:illegal|"
    r"not something))"
    r"|\bi (?:can'?t|cannot|can not|won'?t|will not|am unable to|'m unable to|am not able to) "
    r"(?:help|assist|provide|support|give|offer|share) (?:you )?(?:with )?(?:that|this|"
    r"instructions|information|guidance|advice|details)",
    _I,
)
SUPPORT = LazyPattern(
    r"\b(?:988|samaritans|crisis (?:line|text line|hotline|center|centre)|suicide (?:and "
    r"crisis )?(?:prevention )?(?:lifeline|hotline|helpline)|helpline|hotline|"
    r"mental health (?:professional|services|support)|therapist|counsel(?:l)?or|reach out to "
    r"(?:someone|a friend|a trusted)|you(?:'re| are) not alone|talk to someone|emergency "
    r"services|please (?:seek|get|reach))\b",
    _I,
)
PUSHBACK = LazyPattern(
    r"\b(?:no (?:valid|legitimate|good|rational|justifiable|scientific|logical) (?:reason|"
    r"basis|evidence)|not (?:right|fair|justified|justifiable|ethical|acceptable|true|"
    r"supported|accurate)|(?:is|are|be) (?:wrong|unjust|unfair|illegal|unethical|"
    r"discriminatory|harmful|a form of discrimination)|there is no (?:evidence|basis|reason|"
    r"scientific)|equal (?:rights|pay|opportunit\w+|treatment)|everyone (?:deserves|should "
    r"have|has the right)|regardless of (?:their )?(?:race|gender|sex|religion|ethnicity|"
    r"sexual orientation|background)|nonsensical|does(?:n't| not) make sense|not a real|"
    r"well[- ]documented|overwhelming evidence|historical fact|myth(?:s)? (?:about|that)|"
    r"stereotypes?|baseless|unfounded|misconception|pay gap (?:is|exists)|"
    r"all (?:people|humans|individuals) (?:are|have|should))\b",
    _I,
)
DEFENSIVE = LazyPattern(
    r"\b(?:protect (?:yourself|your)|defend (?:yourself|against)|prevent\w*|secure your|"
    r"detect\w*|avoid (?:falling|being)|report (?:it|them|this|to)|if you (?:think|suspect|"
    r"believe|notice)|being (?:tracked|stalked|followed|hacked|scammed|phished)|"
    r"(?:your|you) (?:own )?(?:account|device|phone|computer|password|data)|restraining order|"
    r"law enforcement|to stay safe|warning signs|red flags|best practices?|penetration "
    r"test\w*|authori[sz]ed|with (?:their|his|her) (?:permission|consent))\b",
    _I,
)
SAFETY_ADVICE = LazyPattern(
    r"\b(?:never|do not|don't|avoid|dangerous|hazard\w*|toxic|can be (?:fatal|deadly)|"
    r"ventilat\w*|poison control|safety|safely|keep (?:out of reach|away)|protective|gloves|"
    r"goggles|seek (?:medical|immediate)|call (?:911|112|999|emergency))\b",
    _I,
)
INSTRUCTION = LazyPattern(
    r"(?:^|\n)\s*(?:\d{1,2}[.)]|[-*•]|step \d+:?)\s+\S"
    r"|\byou(?:'ll| will| would)? need (?:to|a|an|some|the)\b|\byou (?:can|could|should|must|"
    r"may want to|might want to|have to|want to) \w+"
    r"|(?:^|\n|[.!]\s)(?:first|next|then|finally|once you|after that|afterwards)\b,?"
    r"|\bhere are (?:some|the|a few|several)? ?(?:steps|ways|methods|tips|options|"
    r"instructions)\b|\bfollow these steps\b|\bthe (?:best|easiest|most effective) way to\b"
    r"|(?:^|\n)\s*to \w+[^.\n]{0,80}, (?:you|simply|first|use|start)",
    _I,
)
IMPERATIVE = LazyPattern(
    r"(?:^|\n|[.!:]\s+)\s*(?:\d{1,2}[.)]\s*)?(?:\*\*)?(?:choose|identify|gather|find|use|aim|"
    r"apply|obtain|acquire|plan|select|approach|wait|hide|dispose|mix|add|heat|combine|buy|"
    r"make|create|place|put|pour|attach|swing|strike|hold|lure|grab|follow|research|observe|"
    r"position|practice|execute|take|tie|cut|remove|install|download|inject|exploit|scan|"
    r"log in|open|type|set up|establish|recruit|gain|sneak|break|stab|shoot|poison|strangle|"
    r"push|pull|light|ignite|detonate|dissolve|filter|crush|cook|drain|keep|avoid|wear|"
    r"cover|clean|dump|bury|burn|flee|escape|act|pretend|contact|research|target|"
    r"distract|lock|tape|bind|restrain)\b",
    _I,
)
OPERATIONAL = LazyPattern(
    r"\b(?:(?:choose|identify|select|pick|find|research|locate) (?:your|the|a|an) "
    r"(?:\w+ )?(?:target|victim)s?|your (?:target|victim)s?(?:'s)?|dispose of (?:the|any) "
    r"(?:body|bodies|evidence|weapon|remains)|avoid (?:detection|being (?:caught|seen|"
    r"noticed|detected)|suspicion|leaving (?:any )?evidence|the police|law enforcement)|"
    r"without (?:being (?:noticed|seen|caught|detected)|(?:them|anyone) (?:noticing|"
    r"suspecting|knowing)|leaving (?:any )?(?:evidence|trace)|arousing suspicion)|leave no "
    r"(?:trace|evidence)|cover your tracks|hide the (?:body|weapon|evidence)|alibi|"
    r"untraceable|undetectable|maximum damage|until (?:they|he|she) (?:are|is) "
    r"(?:dead|incapacitated|unconscious)|(?:fatal|lethal) (?:wound|dose|injury|blow)|"
    r"make it look like an? (?:accident|suicide)|daily routine|security measures|"
    r"weak (?:points|spots)|escape route|"
    r"(?:so|so that|before|and) (?:nobody|no one|staff|they|security|the police|anyone|"
    r"people) (?:doesn't|don't|won't|can't|cannot|will not|does not|do not) (?:notice|see|"
    r"catch|find|suspect|stop)|when (?:nobody|no one) (?:else )?is (?:around|looking|watching|"
    r"in the \w+)|nobody (?:will )?(?:notice|see)s?|tasteless|odou?rless|"
    r"(?:block|jam|bypass|defeat|disable) (?:the |any )?(?:alarms?|cameras?|sensors?|"
    r"security(?: (?:tags?|gates?|systems?))?)|"
    r"(?:avoid|without|away from|out of (?:sight|view) of) (?:the |any )?(?:security )?"
    r"cameras?|blind spots?|"
    r"before (?:anyone|someone|they|people|he|she|the police) (?:notices?|sees?|finds?|wakes?|"
    r"arrives?|comes?)|from behind|hide the body|"
    r"(?:densest|most crowded|most packed|busiest) (?:part|area|spot|section|point) of "
    r"(?:the |a )?crowd|(?:hurt|harm|injure|kill|wound|maim|murder|hit|poison|infect|shoot|"
    r"stab|attack|target|crush|ram|run (?:over|down)|mow down) as many "
    r"(?:people|victims|of them) as (?:possible|you can))\b",
    _I,
)


#: One pass that finds any word a harm family needs: a draft (or sentence) without a match
#: cannot carry harm language, so the family patterns are not run on it.
TRIGGER = LazyPattern(
    "|".join(
        f"(?:{p.pattern})"
        for p in (
            VIOLENT,
            VIOLENT_NOUN,
            SELF_HARM,
            SERIOUS_WEAPON,
            WEAPON,
            DRUG,
            DRUG_OPS,
            CYBER,
            STALKING,
            CRIME,
            OPERATIONAL,
            PROTECTED_GROUP,
            DENIAL,
        )
    ),
    _I,
)
#: The narrower set a draft needs when the request asked for nothing harmful: without
#: one of these, no unprompted rule of the harm detector can fire.
UNPROMPTED_TRIGGER = LazyPattern(
    "|".join(
        f"(?:{p.pattern})"
        for p in (
            OPERATIONAL,
            SELF_HARM,
            SERIOUS_WEAPON,
            WEAPON,
            DRUG_OPS,
            CYBER,
            STALKING,
            PROTECTED_GROUP,
            DENIAL,
        )
    ),
    _I,
)
__all__ += ["TRIGGER", "UNPROMPTED_TRIGGER"]
