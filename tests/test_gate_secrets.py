"""REWRITE: secrets and high-risk identifiers are redacted, even the user's own."""

from __future__ import annotations

from memwarden.gate import Action, GateInput, RiskGate
from memwarden.gate.detectors.checksums import iban_valid, luhn_valid

GATE = RiskGate()
CARD = "4539 2373 0163 1479"  # Luhn-valid test number
IBAN = "DE89 3704 0044 0532 0130 00"  # the standard example IBAN, checksum valid


def _review(draft: str, memory: tuple[str, ...] = ()) -> tuple[Action, str]:
    decision = GATE.review(GateInput("q", draft, memory), lambda _context: draft)
    return decision.action, decision.reply


def test_rewrite_card_of_the_user_is_redacted() -> None:
    action, reply = _review(f"Your card is {CARD}, expiring 09/27.", (f"My card is {CARD}",))
    assert action is Action.REWRITE
    assert CARD not in reply and "[card number redacted]" in reply and "09/27" in reply


def test_none_card_like_number_failing_luhn() -> None:
    assert not luhn_valid("4539237301631478")
    draft = "Your order number is 4539 2373 0163 1478."
    assert GATE.assess(GateInput("q", draft)).action is Action.NONE


def test_rewrite_iban_with_valid_checksum() -> None:
    assert iban_valid(IBAN)
    action, reply = _review(f"Send it to {IBAN} please.")
    assert action is Action.REWRITE and "0532" not in reply


def test_none_iban_with_bad_checksum() -> None:
    assert not iban_valid("DE88 3704 0044 0532 0130 00")
    assert GATE.assess(GateInput("q", "Ref DE88 3704 0044 0532 0130 00")).action is Action.NONE


def test_rewrite_ssn() -> None:
    action, reply = _review("Your SSN is 512-48-3906.")
    assert action is Action.REWRITE and "512-48-3906" not in reply


def test_rewrite_password() -> None:
    action, reply = _review("The Wi-Fi password is Tr0mbone!88 — share it with guests only.")
    assert action is Action.REWRITE and "Tr0mbone" not in reply and "guests" in reply


def test_none_password_advice() -> None:
    draft = "Your password should be long and unique; a password manager helps."
    assert GATE.assess(GateInput("q", draft)).action is Action.NONE


def test_rewrite_api_key() -> None:
    action, reply = _review("Set OPENAI_API_KEY=sk-proj-4fT9xQ2mZ7bLw8KcR3vN1yHs6JdE0pUa in .env")
    assert action is Action.REWRITE and "4fT9" not in reply


def test_none_api_key_placeholder() -> None:
    draft = "Set OPENAI_API_KEY=sk-your-key-here in your .env file and never commit it."
    assert GATE.assess(GateInput("q", draft)).action is Action.NONE


def test_rewrite_private_key_block() -> None:
    draft = (
        "Key:\n-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA7zqLw\n"
        "-----END RSA PRIVATE KEY-----\nKeep it safe."
    )
    action, reply = _review(draft)
    assert action is Action.REWRITE and "MIIE" not in reply and "Keep it safe" in reply
