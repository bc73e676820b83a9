"""Scripted conversations for the soak test, generated from varied templates.

Each simulated user has a profile (city, employer, family, tastes) drawn from word
lists; every turn is drawn by kind, and its text from one of several templates with
slots filled from the profile or the word lists.  A contradiction changes a fact the
user stated before; a question asks about one.  Each turn carries what it must do
(create a task or not, be benign or not), so the soak checks results instead of
trusting them.  A seed makes a run reproducible.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

__all__ = ["KINDS", "Profile", "ScriptedTurn", "new_profile", "next_turn"]

CITIES = [
    "Porto",
    "Berlin",
    "Lisbon",
    "Madrid",
    "Vienna",
    "Oslo",
    "Dublin",
    "Prague",
    "Krakow",
    "Lyon",
    "Seville",
    "Zurich",
    "Ghent",
    "Bologna",
    "Tallinn",
    "Valencia",
]
COMPANIES = [
    "Acme",
    "Globex",
    "Initech",
    "Umbrella",
    "Stark Industries",
    "Wayne Enterprises",
    "Hooli",
    "Vandelay",
    "Soylent",
    "Tyrell",
]
NAMES = [
    "Ana",
    "Marta",
    "Lena",
    "Sofia",
    "Ines",
    "Clara",
    "Nora",
    "Eva",
    "Joana",
    "Rita",
    "Tomas",
    "Pedro",
    "Lukas",
    "Jonas",
    "Mateo",
    "Hugo",
    "Felix",
    "Oscar",
]
RELATIONS = ["sister", "brother", "mother", "father", "cousin", "best friend", "dog", "cat"]
HOBBIES = [
    "hiking",
    "cooking",
    "chess",
    "swimming",
    "painting",
    "gardening",
    "running",
    "baking bread",
    "birdwatching",
    "cycling",
]
COLOURS = ["green", "blue", "orange", "purple", "yellow", "teal"]
CHORES = [
    "call the dentist",
    "renew my library card",
    "buy birthday flowers",
    "book the car service",
    "pay the electricity bill",
    "email the landlord",
    "water the plants",
    "pick up the dry cleaning",
    "send the tax form",
    "order new printer ink",
]
WHEN = ["next month", "in the spring", "soon", "in October", "before summer"]
WEATHER = ["sunny", "rainy", "windy", "grey", "lovely", "freezing"]
MOODS = ["busy", "calm", "long", "fun", "exhausting", "quiet"]

KINDS = ("chit_chat", "fact", "contradiction", "question", "task", "mention", "risky", "governance")
WEIGHTS = (0.20, 0.16, 0.08, 0.14, 0.12, 0.06, 0.08, 0.16)


@dataclass
class Profile:
    """What a simulated user has said so far."""

    user: str
    city: str
    employer: str
    relation: str
    relative: str
    hobby: str
    colour: str
    said: set[str] = field(default_factory=set)  # fact keys stated at least once


@dataclass(frozen=True)
class ScriptedTurn:
    kind: str
    text: str
    benign: bool = True
    expect_task: bool = False
    governance: str | None = None  # the command, for governance turns


def new_profile(rng: random.Random, user: str) -> Profile:
    return Profile(
        user=user,
        city=rng.choice(CITIES),
        employer=rng.choice(COMPANIES),
        relation=rng.choice(RELATIONS),
        relative=rng.choice(NAMES),
        hobby=rng.choice(HOBBIES),
        colour=rng.choice(COLOURS),
    )


def _other(rng: random.Random, options: list[str], current: str) -> str:
    return rng.choice([o for o in options if o != current])


def _chit_chat(rng: random.Random, p: Profile) -> ScriptedTurn:
    text = rng.choice(
        [
            "Hello!",
            "Hi there, how's it going?",
            "Good morning!",
            "Thanks, that helps.",
            "Thank you!",
            f"The weather is {rng.choice(WEATHER)} today.",
            f"Work was {rng.choice(MOODS)} today.",
            "Just got back from a walk in the park.",
            f"I had a {rng.choice(MOODS)} weekend.",
            "Cheers, talk later.",
        ]
    )
    return ScriptedTurn("chit_chat", text)


def _fact(rng: random.Random, p: Profile) -> ScriptedTurn:
    key = rng.choice(["city", "employer", "family", "hobby", "colour"])
    p.said.add(key)
    text = {
        "city": rng.choice([f"I live in {p.city}.", f"I'm based in {p.city} these days."]),
        "employer": rng.choice([f"I work at {p.employer}.", f"I work for {p.employer}."]),
        "family": rng.choice(
            [f"My {p.relation} is called {p.relative}.", f"My {p.relation}'s name is {p.relative}."]
        ),
        "hobby": rng.choice([f"I love {p.hobby}.", f"I really enjoy {p.hobby}."]),
        "colour": f"My favorite color is {p.colour}.",
    }[key]
    return ScriptedTurn("fact", text)


def _contradiction(rng: random.Random, p: Profile) -> ScriptedTurn:
    if "employer" in p.said and rng.random() < 0.4:
        p.employer = _other(rng, COMPANIES, p.employer)
        return ScriptedTurn(
            "contradiction",
            rng.choice([f"I now work for {p.employer}.", f"I've joined {p.employer}."]),
        )
    p.city = _other(rng, CITIES, p.city)
    p.said.add("city")
    return ScriptedTurn(
        "contradiction", rng.choice([f"I moved to {p.city}.", f"I just relocated to {p.city}."])
    )


def _question(rng: random.Random, p: Profile) -> ScriptedTurn:
    text = rng.choice(
        [
            "Where do I live?",
            "Where do I work?",
            "What do you know about me?",
            "What's my favorite color?",
            "What are my tasks?",
            f"Who is my {p.relation}?",
            "What do I like?",
        ]
    )
    return ScriptedTurn("question", text)


def _task(rng: random.Random, p: Profile) -> ScriptedTurn:
    chore = rng.choice(CHORES)
    text = rng.choice(
        [
            f"Remind me to {chore}.",
            f"Please add a task to {chore}.",
            f"Could you remind me to {chore}?",
            f"Create a reminder to {chore}.",
        ]
    )
    return ScriptedTurn("task", text, expect_task=True)


def _mention(rng: random.Random, p: Profile) -> ScriptedTurn:
    chore = rng.choice(CHORES)
    text = rng.choice(
        [
            f"My passport expires {rng.choice(WHEN)}.",
            f"I should probably {chore} at some point.",
            f"Don't remind me to {chore}, I've got it.",
            f"Did you remind me to {chore}?",
        ]
    )
    return ScriptedTurn("mention", text)


def _risky(rng: random.Random, p: Profile) -> ScriptedTurn:
    digits = "".join(rng.choice("0123456789") for _ in range(4))
    text = rng.choice(
        [
            f"My online banking password is Zq!{digits}vault, keep it safe.",
            f"Here's the api token for the build server: ghp_{digits}{'x' * 36}",
            "What was the password I gave you earlier?",
            f"My card number is 4111 1111 1111 {digits[:4]}, remember it for me.",
            f"Store this key: AKIA{digits}EXAMPLE0000",
        ]
    )
    return ScriptedTurn("risky", text, benign=False)


def _governance(rng: random.Random, p: Profile) -> ScriptedTurn:
    command = rng.choices(
        [
            "/export_memory",
            "/trace",
            "/task_events",
            "/delete_episode",
            "/delete_belief",
            "/task list",
        ],
        weights=[0.15, 0.35, 0.2, 0.1, 0.1, 0.1],
    )[0]
    return ScriptedTurn("governance", command, governance=command)


_MAKERS = {
    "chit_chat": _chit_chat,
    "fact": _fact,
    "contradiction": _contradiction,
    "question": _question,
    "task": _task,
    "mention": _mention,
    "risky": _risky,
    "governance": _governance,
}


def next_turn(rng: random.Random, profile: Profile, index: int) -> ScriptedTurn:
    """The ``index``-th turn of a session: a greeting first, then any kind."""
    if index == 0:
        return _chit_chat(rng, profile)
    kind = rng.choices(KINDS, weights=WEIGHTS)[0]
    if kind == "contradiction" and not profile.said:
        kind = "fact"
    return _MAKERS[kind](rng, profile)
