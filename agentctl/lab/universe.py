"""The datasets a setting names, checked against what is installed (known only at run time).

Settings whose valid values depend on the installed datasets are checked where they are
read: `data import` must still work while the universe names a dataset not imported yet.
Light: the dataset list is read inside the functions.
"""

from __future__ import annotations

from pathlib import Path

from agentctl.settings import ConfigError, Settings, check_models, given_as


def installed_datasets(home: Path) -> dict[str, tuple[str, str]]:
    """Every installed dataset by its lower-case SYMBOL/TIMEFRAME name."""
    from agentctl.lab.data import dataset_keys

    return {f"{s}/{t}".lower(): (s, t) for s, t in sorted(dataset_keys(home))}


def match_dataset(name: str, home: Path) -> tuple[str, str] | None:
    """The installed dataset called `name`, whatever its case; None when there is none."""
    return installed_datasets(home).get(name.strip().lower())


def closest_dataset(name: str, home: Path) -> str:
    """' (did you mean X?)' for the nearest installed name, else the list of them."""
    import difflib

    known = installed_datasets(home)
    close = difflib.get_close_matches(name.strip().lower(), list(known), n=1, cutoff=0.5)
    if close:
        s, t = known[close[0]]
        return f" (did you mean {s}/{t}?)"
    names = ", ".join(f"{s}/{t}" for s, t in known.values())
    return f" (installed: {names})" if names else " (no dataset is installed)"


def checked_universe(datasets: str, home: Path) -> list[tuple[str, str]]:
    """AGENTCTL_DATASETS as installed (symbol, timeframe) pairs; ConfigError names the first unknown entry."""
    out: list[tuple[str, str]] = []
    for name in datasets.split(","):
        found = match_dataset(name, home)
        if found is None:
            raise ConfigError(
                f"{given_as('datasets')}: no dataset {name.strip()}{closest_dataset(name, home)}: "
                "fix the setting or import it (`agentctl data list` shows them)"
            )
        out.append(found)
    return out


def universe_of(settings: Settings) -> list[tuple[str, str]] | None:
    """The (symbol, timeframe) pairs the designers may use; None: every dataset installed.

    Each entry is matched to an installed dataset (case-insensitively); an unknown one raises ConfigError.
    """
    if not settings.datasets:
        return None
    return checked_universe(settings.datasets, settings.home)


def check_run_time_settings(settings: Settings) -> None:
    """Raise ConfigError on the first setting that names something unknown (a tick, `run` and `cron` call it)."""
    if settings.datasets:
        checked_universe(settings.datasets, settings.home)
    check_models(settings)
