"""Eligibility rule sets: named, versioned data files in core/rulesets/, not code paths."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import cache
from importlib import resources


@dataclass(frozen=True, slots=True)
class ExcludedOccupation:
    id: str
    label: str
    pattern: re.Pattern[str]


@dataclass(frozen=True, slots=True)
class RuleSet:
    """The programme rules an office registers under (chosen at `prakerja init`)."""

    name: str
    version: int
    title: str
    min_age: int
    max_age: int | None
    exclude_in_formal_education: bool
    max_per_kk: int | None
    social_assistance_lower_priority: bool
    occupation_exempt: re.Pattern[str] | None
    excluded_occupations: tuple[ExcludedOccupation, ...]
    #: Verdicts per occupation text: a roster repeats a few dozen occupations 100k times.
    _verdicts: dict[str, ExcludedOccupation | None] = field(
        default_factory=dict, init=False, compare=False, hash=False, repr=False
    )

    def excluded_occupation(self, occupation: str) -> ExcludedOccupation | None:
        """The excluded group an occupation falls in, if any ("pensiunan PNS" is not excluded)."""
        try:
            return self._verdicts[occupation]
        except KeyError:
            verdict = self._excluded_occupation(occupation)
        if len(self._verdicts) < 10_000:
            self._verdicts[occupation] = verdict
        return verdict

    def _excluded_occupation(self, occupation: str) -> ExcludedOccupation | None:
        text = re.sub(r"[^0-9A-Z]+", " ", occupation.upper()).strip()
        if not text or (self.occupation_exempt and self.occupation_exempt.search(text)):
            return None
        for group in self.excluded_occupations:
            if group.pattern.search(text):
                return group
        return None


DEFAULT_RULES = "normal-2023"


def rule_set_names() -> list[str]:
    folder = resources.files("prakerja_cli.core").joinpath("rulesets")
    return sorted(
        p.name.removesuffix(".json") for p in folder.iterdir() if p.name.endswith(".json")
    )


@cache
def load_rule_set(name: str) -> RuleSet:
    """Load a rule set by name. Raises KeyError for an unknown name."""
    if name not in rule_set_names():
        raise KeyError(name)
    path = resources.files("prakerja_cli.core").joinpath("rulesets", f"{name}.json")
    data = json.loads(path.read_text(encoding="utf-8"))
    exempt = data.get("occupation_exempt")
    return RuleSet(
        name=data["name"],
        version=int(data["version"]),
        title=data["title"],
        min_age=int(data["min_age"]),
        max_age=data.get("max_age"),
        exclude_in_formal_education=bool(data["exclude_in_formal_education"]),
        max_per_kk=data.get("max_per_kk"),
        social_assistance_lower_priority=data.get("social_assistance") == "lower_priority",
        occupation_exempt=re.compile(exempt) if exempt else None,
        excluded_occupations=tuple(
            ExcludedOccupation(o["id"], o["label"], re.compile(o["pattern"]))
            for o in data["excluded_occupations"]
        ),
    )
