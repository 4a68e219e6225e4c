"""The budget of one (component, action) at an operating point: from the calibration artifact of a
calibrated technology when it has that action (read through :class:`circuitsim.store.ArtifactStore`,
hash-checked), else from the literature table, with the reason it fell back."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np

from circuitsim.accounting.tables import (
    DEFAULT_SUPPLY_RANGE_V,
    DEFAULT_VDD_V,
    LITERATURE,
    LITERATURE_TABLE,
    Budget,
    EnergyTable,
    EnergyTableError,
    PerResolution,
    PowerBudget,
    load_energy_table,
)
from circuitsim.errors import CircuitsimError
from circuitsim.store import MODEL_FILE, ArtifactStore, OperatingPoint


class _NoTiming(CircuitsimError):
    """A block timing that this technology and point cannot provide (the stated value stands)."""


class BudgetResolver:
    """Pick each (component, action) budget: calibrated for the operating point when the component's
    artifact there has that action, else the literature table. ``technology="literature"`` never looks
    at artifacts. Every literature budget a calibrated technology falls back to says why
    (``fallback_reason``).

    The artifacts are read through :class:`circuitsim.store.ArtifactStore` (hash-checked) at ``point``
    (default: the technology's nominal tt 27 °C).
    """

    def __init__(self, technology: str = LITERATURE, calibration_root: Path | None = None,
                 table: EnergyTable | None = None, *, point: OperatingPoint | None = None):
        from circuitsim.accounting.profiles import is_profile, load_profile

        #: a paper profile (``--technology leca-paper``): its table and parameters, never an artifact
        self.profile = None
        if is_profile(technology):
            if point is not None:
                raise CircuitsimError(f"{technology}: a paper profile has no operating point (corner/temperature); "
                                      "drop --corner/--temp or use a calibrated technology")
            user = None
            if table is not None and table.sources and Path(table.sources[-1]) != Path(LITERATURE_TABLE):
                user = Path(table.sources[-1])
            self.profile = load_profile(technology, user)
            technology = self.profile.name
            table = self.profile.table
        if point is not None and technology == LITERATURE:
            technology = point.technology
        self.technology = technology
        #: False for the literature table and a paper profile: no calibration artifact is ever read
        self.uses_artifacts = technology != LITERATURE and self.profile is None
        self.store = ArtifactStore(calibration_root)
        self.calibration_root = self.store.root
        self.point = point or OperatingPoint(technology=technology)
        if self.point.technology != technology:
            raise CircuitsimError(f"operating point {self.point} is not of technology {technology!r}")
        self.table = table or load_energy_table()
        self._energy_cache: dict[str, dict | None] = {}
        self._tables: dict[str, dict | None] = {}
        if self.uses_artifacts:
            self._check_technology()

    def _check_technology(self) -> None:
        from circuitsim.accounting.profiles import profile_names
        from circuitsim.technology import shipped_technologies

        names = shipped_technologies()
        if self.technology not in names and not (self.calibration_root / self.technology).is_dir():
            raise CircuitsimError(f"unknown technology {self.technology!r}; valid choices: "
                                  f"{', '.join([LITERATURE, *names])}, a paper profile "
                                  f"({', '.join(profile_names())}) or the path of a technology or profile YAML")

    def describe(self) -> str:
        names = " + ".join(Path(p).name for p in (self.table.sources or (self.table.path,)))
        if self.profile is not None:
            return f"paper profile {self.profile.name} ({self.profile.paper}): tables {names}"
        if self.technology == LITERATURE:
            return f"literature table ({names})"
        return (f"{self.technology} calibration artifacts at {self.point} under "
                f"{self.calibration_root}, literature table ({names}) elsewhere")

    def _artifact_actions(self, artifact: str) -> dict | None:
        """``{action: record}`` of an artifact's ``energy.json`` (a component's, or one resolution's, e.g.
        ``sar_adc_8b``) at the resolver's point, or None if there is no artifact there."""
        if artifact not in self._energy_cache:
            table = self.store.energy(artifact, self.point)
            self._tables[artifact] = table
            self._energy_cache[artifact] = None if table is None else {
                rec["name"]: dict(rec, path=table["path"], content_sha256=table["content_sha256"],
                                  static_W=table.get("static_W"), leakage_W=table.get("leakage_W"))
                for rec in table.get("actions", [])}
        return self._energy_cache[artifact]

    def _supply_range(self, literature: PowerBudget) -> tuple:
        """The technology's supply range (``supply.range_v``) for a calibrated block, else the table's."""
        if not hasattr(self, "_technology_range"):
            from circuitsim.technology import load_technology

            try:
                self._technology_range = tuple(load_technology(self.technology).supply_range_v)
            except CircuitsimError:
                self._technology_range = None
        if self._technology_range is None:
            return literature.supply_range_v
        lo, hi = self._technology_range
        return (min(lo, literature.supply_range_v[0]), max(hi, literature.supply_range_v[1]))

    def power(self, component: str, bits: float | None = None, where: str = "") -> PowerBudget:
        """Static and leakage power of one instance: the calibrated artifact's top-level ``static_W`` /
        ``leakage_W`` (the artifact of resolution ``bits`` for a resolution-dependent component) when the
        artifact states both, else the table's component-level figures with a ``fallback_reason``."""
        literature = self.table.power.get(component) if self.table.power else None
        if literature is None:
            literature = PowerBudget(component, 0.0, 0.0, DEFAULT_VDD_V, DEFAULT_SUPPLY_RANGE_V, LITERATURE,
                                     "estimate", "no static or leakage figure in the table: counted as zero")
        if not self.uses_artifacts:
            return literature
        artifact = component
        entries = self.table.budgets.get(component, {})
        resolved = [e for e in entries.values() if isinstance(e, PerResolution)]
        if resolved:
            artifact = resolved[0].artifact_name(bits) if bits is not None else None
            if artifact is None:
                return replace(literature, fallback_reason=f"{bits} bit has no {self.technology} artifact")
        self._artifact_actions(artifact)
        table = self._tables.get(artifact)
        if table is None:
            return replace(literature, fallback_reason=self._no_artifact_reason(artifact))
        if table.get("static_W") is None or table.get("leakage_W") is None:
            return replace(literature, fallback_reason=f"the {self.technology} artifact of {artifact!r} at "
                           f"{self.point} records no static_W / leakage_W (recalibrate it to measure them)")
        try:
            root = Path(table["path"]).relative_to(self.calibration_root.parent)
        except ValueError:
            root = Path(table["path"])
        note = f"; {table['static_note']}" if table.get("static_note") else ""
        return PowerBudget(component, max(float(table["static_W"]), 0.0), max(float(table["leakage_W"]), 0.0),
                           float(table.get("vdd_v", literature.vdd_v)),
                           # an artifact of another supply domain (pixel_4t_3v3) states its own range
                           (tuple(table["supply_range_v"]) if table.get("supply_range_v")
                            else self._supply_range(literature)),
                           "calibrated", "calibrated",
                           f"artifact {root} sha256:{table['content_sha256'][:16]}{note}")

    def timing_parameters(self, arch, overrides: dict) -> tuple[dict, dict]:
        """The architecture's ``timing.from_blocks`` parameters at this technology and point:
        ({parameter: value}, {parameter: where it came from}). A parameter the caller sets (``--set``) keeps
        its value; with the literature technology, or without the block's artifact, the parameter's stated
        value stands (the published profile), and the source says why."""
        from circuitsim.accounting.schema import OPERATING_KEYS

        values, sources = {}, {}
        if self.profile is not None:
            return self._profile_parameters(arch, overrides)
        symbols = dict(arch.parameters)
        symbols.update({k: v for k, v in overrides.items() if k not in OPERATING_KEYS})
        for ts in arch.timing_sources:
            stated = f"the architecture's stated {ts.parameter} = {arch.parameters[ts.parameter]:g} s (published profile)"
            if ts.parameter in overrides:
                sources[ts.parameter] = "set by the caller (--set)"
            elif self.technology == LITERATURE:
                sources[ts.parameter] = stated
            else:
                args = {a: f(symbols) for a, f in ts.args.items()}
                try:
                    values[ts.parameter], sources[ts.parameter] = self._block_timing(ts, args)
                except _NoTiming as exc:
                    sources[ts.parameter] = f"{stated}; {exc}"
        return values, sources

    def _profile_parameters(self, arch, overrides: dict) -> tuple[dict, dict]:
        """The profile's parameter values for the parameters ``arch`` has (a ``--set`` one keeps the caller's
        value), with their quote or derivation; an architecture of a family the paper does not describe is
        refused."""
        profile = self.profile
        if arch.family not in profile.families:
            raise CircuitsimError(f"{arch.name}: paper profile {profile.name} states the assumptions of "
                                  f"{profile.paper} for the families {', '.join(profile.families)}; {arch.name} "
                                  f"is of family {arch.family!r} (shipped profiles: see circuitsim/data/profiles/)")
        values, sources = {}, {}
        for key, value in profile.parameters.items():
            if key not in arch.parameters or arch.name not in profile.parameter_scope.get(key, (arch.name,)):
                continue
            if key in overrides:
                sources[key] = "set by the caller (--set)"
            else:
                values[key], sources[key] = value, profile.parameter_sources[key]
        for ts in arch.timing_sources:
            sources.setdefault(ts.parameter, "set by the caller (--set)" if ts.parameter in overrides else
                               f"the architecture's stated {ts.parameter} = {arch.parameters[ts.parameter]:g} s "
                               f"(not in profile {profile.name})")
        return values, sources

    def _block_timing(self, ts, args: dict):
        """(value, source) of one ``timing.from_blocks`` entry (see ``schema.TIMING_QUANTITIES``)."""
        from circuitsim.blocks import pixel_timing
        from circuitsim.technology import load_technology

        if ts.quantity == "latency_s":
            return self._latency(ts)
        if ts.quantity != "row_readout_s":  # the schema admits no other today (pixel_4t, pixel_4t_3v3)
            raise _NoTiming(f"no timing {ts.quantity} of {ts.block}")
        if not self.store.has(ts.block, self.point):
            raise _NoTiming(self._no_artifact_reason(ts.block))
        try:
            technology = load_technology(self.technology)
        except CircuitsimError as exc:
            raise _NoTiming(f"the technology file states no column line ({exc})") from None
        artifact = self.store.open(ts.block, self.point)
        arrays = artifact.arrays(MODEL_FILE)
        if not all(k in arrays for k in pixel_timing.SETTLING_ARRAYS):
            raise _NoTiming(f"the {ts.block} artifact at {self.point} has no settling table "
                            f"({', '.join(pixel_timing.SETTLING_ARRAYS)}): recalibrate it")
        c_col = technology.column_capacitance_F(args["rows"])
        t, clamped = pixel_timing.row_readout_s(arrays, c_col, args["bits"])
        value = t if np.ndim(t) else float(t)
        scalar = not np.ndim(t)
        detail = (f"{value * 1e9:.1f} ns on C_col = {float(c_col) * 1e12:.3g} pF ({float(args['rows']):g} rows), "
                  f"to half an LSB at {float(args['bits']):g} bit" if scalar else "per point")
        smallest = float(arrays["settle_ccol_F"][0]) * 1e12
        low = f" (C_col below the measured {smallest:g} pF: its figure, an upper bound)" if np.any(clamped) else ""
        return value, (f"{ts.block} settling (reset + signal) at {self.point}: {detail}{low}; column line from "
                       f"{technology.name}.yaml column_line; artifact {artifact.path.name} "
                       f"sha256:{artifact.provenance.get('content_sha256', '')[:16]}")

    def _latency(self, ts):
        """(latency_s, source) of a block's action from its calibrated artifact at this point."""
        actions = self._artifact_actions(ts.block)
        if actions is None:
            raise _NoTiming(self._no_artifact_reason(ts.block))
        record = actions.get(ts.action)
        if record is None or record.get("latency_s") is None:
            raise _NoTiming(f"the {ts.block} artifact at {self.point} has no latency for action {ts.action!r}")
        value = float(record["latency_s"])
        return value, (f"{ts.block} {ts.action} latency {value * 1e9:.1f} ns at {self.point}; artifact "
                       f"sha256:{record['content_sha256'][:16]}")

    def _no_artifact_reason(self, artifact: str) -> str:
        """Why there is no calibrated figure: the component is calibrated elsewhere, or nowhere."""
        elsewhere = self.store.points(artifact, self.technology)
        if elsewhere:
            return (f"{artifact} is not calibrated at {self.point}; calibrated points: {', '.join(elsewhere)}")
        return f"no {self.technology} calibration artifact of {artifact!r} (not a calibrated block)"

    def _fallback(self, literature: Budget, reason: str) -> Budget:
        return replace(literature, fallback_reason=reason)

    def _calibrated(self, component: str, action: str, record: dict, leakage_W: float | None) -> Budget:
        directory = Path(record["path"])
        try:
            root = directory.relative_to(self.calibration_root.parent)
        except ValueError:
            root = directory
        note = f"; {record['note']}" if record.get("note") else ""
        leakage = record.get("leakage_W")
        return Budget(component, action, float(record["energy_J"]),
                      None if record.get("latency_s") is None else float(record["latency_s"]),
                      leakage_W if leakage is None else float(leakage), "calibrated", "calibrated",
                      f"artifact {root} sha256:{record['content_sha256'][:16]}{note}",
                      static_W=None if record.get("static_W") is None else float(record["static_W"]))

    def _calibrated_only(self, component: str, action: str, where: str) -> Budget:
        """A calibrated block with no literature entry (e.g. ``inpixel_conv``): its artifact's figure, or the
        table's own refusal (naming the valid components) when the artifact lacks it too."""
        actions = self._artifact_actions(component)
        if actions and action in actions:
            return self._calibrated(component, action, actions[action], None)
        try:
            self.table.entry(component, action, where)
        except EnergyTableError as exc:
            raise EnergyTableError(f"{exc}; nor is there a {self.technology} artifact of {component!r} with "
                                   f"action {action!r} at {self.point}") from None
        raise AssertionError("unreachable")  # pragma: no cover

    def budget(self, component: str, action: str, where: str = "", bits: float | None = None) -> Budget:
        """Calibrated budget if the artifact exists and has ``action``; the literature entry otherwise,
        with its ``fallback_reason``.

        A resolution-dependent action (:class:`PerResolution`) is looked up at ``bits`` in the artifact of
        that resolution (``sar_adc_8b``), never in the component's own artifact.
        """
        if component not in self.table.budgets and self.uses_artifacts:
            return self._calibrated_only(component, action, where)
        literature = self.table.budget(component, action, where, bits)
        if not self.uses_artifacts:
            return literature
        entry = self.table.entry(component, action)
        artifact = component
        if isinstance(entry, PerResolution):
            artifact = entry.artifact_name(bits)
            if artifact is None:
                return self._fallback(literature, f"{float(bits):g} bit is not an integer resolution: no "
                                      f"{self.technology} artifact")
        actions = self._artifact_actions(artifact)
        if not actions and isinstance(entry, PerResolution):
            pattern = entry.artifact.replace("{bits}", "*")
            found = sorted(p.name for p in (self.store.root / self.technology / self.point.name).glob(pattern))
            return self._fallback(literature, f"no {self.technology} artifact {artifact!r} at {self.point}; "
                                  f"calibrated resolutions: {', '.join(found) or 'none'}")
        if not actions:
            return self._fallback(literature, self._no_artifact_reason(artifact))
        if action not in actions:
            return self._fallback(literature, f"the {self.technology} artifact of {artifact!r} at {self.point} "
                                  f"has no action {action!r}, only: {', '.join(sorted(actions))}")
        return self._calibrated(component, action, actions[action], literature.leakage_W)
