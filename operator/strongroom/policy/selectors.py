"""Kubernetes label selectors, and which namespaces a Safe's credentials may be delivered to."""

from __future__ import annotations

from collections.abc import Mapping

from strongroom.api.safe import AllowedNamespaces, LabelSelector, LabelSelectorRequirement, SelectorOperator


def requirement_matches(requirement: LabelSelectorRequirement, labels: Mapping[str, str]) -> bool:
    """One requirement, with Kubernetes semantics (NotIn also matches when the key is absent)."""
    present = requirement.key in labels
    match requirement.operator:
        case SelectorOperator.IN:
            return present and labels[requirement.key] in requirement.values
        case SelectorOperator.NOT_IN:
            return not present or labels[requirement.key] not in requirement.values
        case SelectorOperator.EXISTS:
            return present
        case SelectorOperator.DOES_NOT_EXIST:
            return not present
    raise ValueError(f"unknown selector operator {requirement.operator!r}")


def selector_matches(selector: LabelSelector, labels: Mapping[str, str]) -> bool:
    """All matchLabels and all matchExpressions hold; an empty selector matches everything."""
    return all(labels.get(key) == value for key, value in selector.match_labels.items()) and all(
        requirement_matches(requirement, labels) for requirement in selector.match_expressions
    )


def namespace_allowed(allowed: AllowedNamespaces, namespace: str, labels: Mapping[str, str]) -> bool:
    """Whether credentials may be delivered to `namespace` (with these labels). Nothing named and no
    selector means nowhere: a Safe has to say where its credentials may go."""
    if namespace in allowed.names:
        return True
    return allowed.selector is not None and selector_matches(allowed.selector, labels)
