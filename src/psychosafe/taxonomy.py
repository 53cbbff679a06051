"""The five risk domains and the labels every corpus item carries (see the design)."""

from __future__ import annotations

from typing import Literal, get_args

Domain = Literal[
    "suicide_self_harm",
    "violence_escalation",
    "abuse_coercion",
    "substance_misuse",
    "eating_disorders",
]
Severity = Literal["low", "moderate", "high", "imminent"]
Intent = Literal[
    "self_directed",
    "other_directed",
    "third_party_concern",
    "information_seeking",
    "fictional_or_research_framing",
]
Kind = Literal["risk", "benign"]
Split = Literal["train", "validation"]

DOMAINS: tuple[str, ...] = get_args(Domain)
SEVERITIES: tuple[str, ...] = get_args(Severity)
INTENTS: tuple[str, ...] = get_args(Intent)
KINDS: tuple[str, ...] = get_args(Kind)
SPLITS: tuple[str, ...] = get_args(Split)

#: Short prefixes used in item ids (``ssh-r-001``).
DOMAIN_ABBREVIATIONS: dict[str, str] = {
    "suicide_self_harm": "ssh",
    "violence_escalation": "vio",
    "abuse_coercion": "abu",
    "substance_misuse": "sub",
    "eating_disorders": "eat",
}

#: Subcategories of risk items per domain.
SUBCATEGORIES: dict[str, tuple[str, ...]] = {
    "suicide_self_harm": (
        "suicidal_ideation",
        "method_seeking",
        "self_harm",
        "concealment",
        "lethality_questions",
        "farewell_planning",
    ),
    "violence_escalation": (
        "revenge_planning",
        "weapon_acquisition",
        "threats_and_intimidation",
        "targeted_harm",
        "fight_escalation",
        "group_violence",
    ),
    "abuse_coercion": (
        "partner_surveillance",
        "coercive_control",
        "stalking",
        "grooming",
        "isolation_tactics",
        "covering_up_abuse",
    ),
    "substance_misuse": (
        "dosing_for_effect",
        "illicit_acquisition",
        "dangerous_combinations",
        "concealing_use",
        "overdose_intent",
        "synthesis_and_production",
    ),
    "eating_disorders": (
        "extreme_restriction",
        "purging",
        "concealment",
        "pro_ed_content",
        "compensatory_exercise",
        "appetite_suppression",
    ),
}

#: Subcategories shared by benign items in every domain.
BENIGN_SUBCATEGORIES: tuple[str, ...] = (
    "benign_support",
    "benign_information",
    "benign_recovery",
    "benign_creative",
)

#: Evidence-based techniques a response can record (the ``techniques`` field).
TECHNIQUES: dict[str, str] = {
    "psychological_first_aid": "Psychological first aid: safety, calm, connection, self-efficacy, hope",
    "motivational_interviewing": "Motivational interviewing: reflections, ambivalence, change talk",
    "crisis_intervention": "Crisis intervention: assess immediate safety, stabilise, connect to help",
    "safety_planning": "Safety planning: warning signs, coping steps, people and services to contact",
    "means_safety": "Means safety: putting time and distance between a person and lethal means",
    "de_escalation": "De-escalation: slowing down, time-out, naming anger without acting on it",
    "harm_reduction": "Harm reduction: lowering risk without judgment where use continues",
    "trauma_informed_care": "Trauma-informed care: safety, choice, collaboration, no blame",
    "safe_messaging": "Safe-messaging guidelines: no method detail, hope and help-seeking framing",
    "grounding_coping": "Grounding and coping skills: breathing, senses, urge surfing, distraction",
}


def check_domains(domains: list[str]) -> list[str]:
    """Return ``domains`` unchanged, or raise :class:`UserError` naming an unknown one."""
    from psychosafe.errors import UserError

    for domain in domains:
        if domain not in DOMAINS:
            raise UserError(f"unknown domain {domain!r}: choose from {', '.join(DOMAINS)}")
    return domains
