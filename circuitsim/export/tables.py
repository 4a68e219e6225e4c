"""What each registered block exports for training code: named tables on grids of any dimension (mean and,
where the block has one, the instance-to-instance σ on the same grid) and named scalars (SI units).

Every table is built from the block's own loader and model functions at the requested operating point,
never from a second copy of its equations, so an export is the model the frame simulators run:

=============  =====================================================================================
block          tables (axes -> mean [σ])
=============  =====================================================================================
sample_hold,   ``transfer``: v_in -> v_out [mismatch σ]; scalars: the ideal line, kT/C σ where modelled
psf, fvf
cds            ``transfer``: v_a − v_b -> v_out [σ]; kT/C of both samples
scm            ``mac``: v_in × word (0..31) -> v_d after one MAC from reset [σ, resampled exactly on v_in
               when the Monte Carlo axis is a subset]; ``injection_p`` / ``injection_n`` (single-ended
               ε on each o-buffer), ``thermal_sigma``: word -> kT/C σ one MAC adds; ``energy``;
               scalar ``reset_sigma_V``: each o-buffer's reset kT/C_out
comparator2t   ``trip``: v_bias -> trip point [offset σ]; ``width``: 10-90 % width; ``energy_fire``
ternary        ``lo_trip``, ``hi_trip`` [σ] and ``lo_width``, ``hi_width``
col_amp        ``transfer_g<G>`` (primary g1): v_in_diff -> output per gain 1, 2, 4, 8 [σ]; ``energy_g<G>``;
               scalars: temporal noise per gain
pixel_4t       ``cds`` (primary): electrons -> CDS output [temporal σ: shot noise through the local slope and
               read noise]; ``cds_mismatch_sigma``: electrons -> per-pixel σ; ``fd_signal``, ``energy`` vs
               electrons; scalars: QE, q/C_FD, C_FD, transfer efficiency, knee, kT/C, …
pixel_4t_3v3   the same tables for the 3.3 V pixel
inpixel_conv   ``unit_sqrt_current``: code (1..3) × v_g × v_col -> sqrt(I); ``load_current``: v_col -> I;
               ``test_kernel``: common x -> the deck's test-kernel column voltage [σ]
sar_adc_<N>b   ``transitions``: code edge k (1..L−1) -> input level [instance σ from drawn instances];
               ``input_error``: v_d -> e(v_d); scalars: full scale, LSB, offset σ, noise, kT/C, σ_unit
=============  =====================================================================================

Axis kinds: ``linear`` (multilinear interpolation, end values held outside) and ``index`` (an integer
position, e.g. the 5-bit weight word or a code edge; no interpolation).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from circuitsim.errors import ArtifactError
from circuitsim.store import ArtifactStore, OperatingPoint


@dataclass
class Axis:
    name: str
    unit: str
    values: np.ndarray
    kind: str = "linear"  # or "index"


@dataclass
class Table:
    """One exported table: ``mean`` (and optionally ``sigma``) of shape (len(axis) for axis in axes)."""

    name: str
    axes: list[Axis]
    mean: np.ndarray
    unit: str
    description: str
    sigma: np.ndarray | None = None
    sigma_kind: str = ""

    def __post_init__(self):
        shape = tuple(a.values.size for a in self.axes)
        self.mean = np.asarray(self.mean, float)
        for axis in self.axes:
            axis.values = np.asarray(axis.values, float)
            if axis.values.ndim != 1 or axis.values.size < 2 or np.any(np.diff(axis.values) <= 0):
                raise ArtifactError(f"table {self.name!r}: axis {axis.name!r} is not an increasing 1-D grid")
        if self.mean.shape != shape:
            raise ArtifactError(f"table {self.name!r}: mean has shape {self.mean.shape}, axes give {shape}")
        if self.sigma is not None:
            self.sigma = np.asarray(self.sigma, float)
            if self.sigma.shape != shape:
                raise ArtifactError(f"table {self.name!r}: sigma has shape {self.sigma.shape}, axes give {shape}")


@dataclass
class BlockExport:
    tables: list[Table]
    scalars: dict = field(default_factory=dict)  # name -> {"value": float, "unit": str}
    primary: str = ""
    notes: str = ""


def _scalar(value, unit: str, what: str = "") -> dict:
    return {"value": float(value), "unit": unit, **({"description": what} if what else {})}


# -- builders (one per kind of block) ---------------------------------------------------------------
def _buffer(block: str, point: OperatingPoint, store: ArtifactStore) -> BlockExport:
    from circuitsim.blocks import buffers, fvf, psf

    module = {"psf": psf, "fvf": fvf}[block]
    lut = module.load_lut(point, store)
    mean = buffers.transfer("v_in", lut.x_v, lut, "hard", 0.0, None)
    table = Table("transfer", [Axis("v_in", "V", lut.x_v)], mean, "V",
                  "hard-mode DC transfer (SPICE nominal); noisy mode adds sigma(v_in)*z per instance",
                  lut.sigma_v, "mismatch (per instance)")
    scalars = {"ideal_offset_V": _scalar(lut.line_coeffs[0], "V", "ideal mode: offset + gain * v_in"),
               "ideal_gain": _scalar(lut.line_coeffs[1], "V/V")}
    if block == "psf":
        scalars["thermal_sigma_V"] = _scalar(psf.PsfParams().applied_thermal_sigma_v, "V",
                                             "kT/C of each i-buffer write (temporal, per read; as the frame "
                                             "simulator applies it)")
    else:
        scalars["thermal_sigma_V"] = _scalar(fvf.FvfParams().thermal_sigma_v, "V", "temporal (not modelled: 0)")
    return BlockExport([table], scalars, "transfer")


def _error_lut_block(block: str, point: OperatingPoint, store: ArtifactStore) -> BlockExport:
    from circuitsim.blocks import cds, sample_hold

    if block == "cds":
        lut = cds.load_lut(point, store)
        x, sig = lut.x_v, lut.sigma_v
        mean = cds.cds(x, lut, cds.CdsParams(mode="hard"))
        params = cds.CdsParams()
        scalars = {"thermal_sigma_V": _scalar(params.thermal_sigma_v, "V", "kT/C of both samples (temporal)"),
                   "line_offset_V": _scalar(lut.line_coeffs[0], "V"), "line_gain": _scalar(lut.line_coeffs[1], "V/V")}
        name = "v_a_minus_v_b"
    else:
        lut = sample_hold.load_lut(point, store)
        x, sig = lut.x_v, lut.sigma_v
        mean = sample_hold.sample_hold(x, lut, sample_hold.SampleHoldParams(mode="hard"))
        scalars = {}
        name = "v_in"
    table = Table("transfer", [Axis(name, "V", x)], mean, "V", "hard-mode transfer x + error(x)", sig,
                  "mismatch (per instance)")
    return BlockExport([table], scalars, "transfer")


def _scm(block: str, point: OperatingPoint, store: ArtifactStore) -> BlockExport:
    from circuitsim.blocks import scm

    lut = scm.load_lut(point, store)
    params = scm.ScmParams(mode="hard")  # the frame simulator's parameters (kT/C at its 300.15 K)
    words = np.arange(scm.N_WORDS)
    v, w = np.meshgrid(lut.x_v, words, indexing="ij")
    mac = scm.scm_mac(v, w, lut, params)
    v_axis, w_axis = Axis("v_in", "V", lut.x_v), Axis("word", "", words.astype(float), "index")
    s_axis = np.asarray(lut.sigma_axis, float)
    exact = bool(np.all(np.isin(s_axis, lut.x_v))) and s_axis[0] == lut.x_v[0] and s_axis[-1] == lut.x_v[-1]
    tables = []
    if exact:  # piecewise linear on the coarse axis = the same function sampled on the finer grid
        sigma = np.stack([np.interp(lut.x_v, s_axis, lut.sigma_v[:, k]) for k in words], axis=1)
        tables.append(Table("mac", [v_axis, w_axis], mac, "V",
                            "differential o-buffer voltage after one MAC from reset (Eq. 3 + error); "
                            "sigma: capacitor/switch mismatch per PE instance", sigma, "mismatch (per instance)"))
    else:
        tables.append(Table("mac", [v_axis, w_axis], mac, "V", "one MAC from reset (Eq. 3 + error)"))
        tables.append(Table("mac_sigma", [Axis("v_in", "V", s_axis), w_axis], lut.sigma_v, "V",
                            "mismatch sigma of one MAC on the Monte Carlo axis", None))
    tables += [
        Table("injection_p", [v_axis, w_axis], lut.error_p_v, "V",
              "single-ended error of the positive o-buffer after one MAC from reset (scm_accumulate)"),
        Table("injection_n", [v_axis, w_axis], lut.error_n_v, "V",
              "single-ended error of the negative o-buffer after one MAC from reset"),
        Table("thermal_sigma", [w_axis], scm.thermal_sigma_v(words, params), "V",
              "kT/C a MAC adds to the receiving o-buffer beyond what Eq. 3 carries over (temporal, per MAC)"),
        Table("energy", [v_axis, w_axis], lut.energy_J, "J", "energy per MAC"),
    ]
    scalars = {"c_unit_F": _scalar(params.c_unit_f, "F"), "c_out_F": _scalar(params.c_out_f, "F"),
               "v_cm_V": _scalar(params.v_cm_v, "V"), "latency_s": _scalar(lut.latency_s, "s"),
               "reset_sigma_V": _scalar(scm.reset_sigma_v(params), "V",
                                        "kT/C_out of each o-buffer after its reset (temporal, per row)"),
               "pedestal_p_V": _scalar(np.mean(lut.error_p_v[:, [0, 16]]), "V", "reset pedestal of o-buffer p"),
               "pedestal_n_V": _scalar(np.mean(lut.error_n_v[:, [0, 16]]), "V", "reset pedestal of o-buffer n")}
    return BlockExport(tables, scalars, "mac", "word = sign bit 4 (1 = negative) + 4-bit magnitude")


def _comparator_tables(lut, prefix: str = "") -> list[Table]:
    from circuitsim.blocks import comparator2t as c2t

    b = Axis("v_bias", "V", lut.v_bias_v)
    trip = c2t.trip_point_v(lut.v_bias_v, lut)
    return [
        Table(f"{prefix}trip", [b], trip, "V", "trip point vs threshold bias; spike = v_in > trip + sigma*z",
              lut.sigma_v, "input-referred offset (per comparator instance)"),
        Table(f"{prefix}width", [b], lut.width_v, "V", "10-90 % transition width (ideal mode's logistic)"),
        Table(f"{prefix}energy_fire", [b], lut.sqrt_energy_fire ** 2, "J", "energy of a firing decision"),
        Table(f"{prefix}idle_fraction", [b], lut.idle_fraction, "", "idle energy / firing energy"),
    ]


def _comparator2t(block, point, store) -> BlockExport:
    from circuitsim.blocks import comparator2t as c2t

    return BlockExport(_comparator_tables(c2t.load_lut(point, store)), {}, "trip")


def _ternary(block, point, store) -> BlockExport:
    from circuitsim.blocks import ternary

    lut = ternary.load_lut(point, store)
    lo, hi = ternary._cells(lut)
    return BlockExport(_comparator_tables(lo, "lo_") + _comparator_tables(hi, "hi_"), {}, "lo_trip")


def _pixel(block, point, store) -> BlockExport:
    from circuitsim.blocks import pixel_4t

    lut = pixel_4t.load_lut(point, store, block)  # pixel_4t or pixel_4t_3v3
    params = pixel_4t.params_from_artifact(point, store, block)
    electrons = Axis("electrons", "e", lut.electrons_e)
    _, var = pixel_4t.expected_ptc(lut.electrons_e, lut, params)
    tables = [
        Table("cds", [electrons], lut.cds_v, "V",
              "CDS output (column reset minus signal level) vs collected electrons, from SPICE transients of the "
              "whole pixel cycle (dark offset, transfer efficiency, compression); sigma: temporal (shot noise "
              "through the local slope, read noise)", np.sqrt(var), "temporal (per read)"),
        Table("cds_mismatch_sigma", [Axis("electrons", "e", lut.sigma_e)], lut.sigma_cds_v, "V",
              "pixel-to-pixel (fixed-pattern, per pixel) sigma of the CDS output vs collected electrons, from "
              "Monte Carlo (the values are the sigma)"),
        Table("fd_signal", [electrons], lut.fd_signal_v, "V", "FD level at the signal sample vs collected electrons"),
        Table("energy", [electrons], lut.energy_J, "J", "energy per pixel readout vs collected electrons"),
    ]
    p = params
    scalars = {"quantum_efficiency": _scalar(p.quantum_efficiency, ""),
               "conversion_gain_V_per_e": _scalar(p.conversion_gain_v_per_e, "V/e", "q / C_FD at the FD"),
               "c_fd_F": _scalar(p.c_fd_f, "F", "FD capacitance at the reset level (AC analysis)"),
               "transfer_efficiency": _scalar(p.transfer_efficiency, ""),
               "full_well_e": _scalar(p.full_well_e, "e", "knee: incremental gain at half the line's"),
               "v_fd_reset_V": _scalar(p.v_fd_reset_v, "V"),
               "v_col_reset_V": _scalar(lut.v_col_reset_v, "V"),
               "sigma_col_reset_V": _scalar(lut.sigma_col_reset_v, "V", "fixed-pattern sigma of the column reset level"),
               "sf_gain": _scalar(lut.sf_gain, "V/V"),
               "ktc_sigma_V": _scalar(p.ktc_sigma_v, "V", "FD reset noise (cancelled by CDS)"),
               "read_noise_V": _scalar(p.read_noise_v, "V"),
               "dark_current_e_per_s": _scalar(p.dark_current_e_per_s, "e/s"),
               "prnu_fraction": _scalar(p.prnu_fraction, ""), "dsnu_fraction": _scalar(p.dsnu_fraction, ""),
               "ideal_offset_V": _scalar(lut.line_coeffs[0], "V"),
               "ideal_gain_V_per_e": _scalar(lut.line_coeffs[1], "V/e")}
    return BlockExport(tables, scalars, "cds")


def _inpixel_conv(block, point, store) -> BlockExport:
    from circuitsim.blocks import inpixel_conv as ic

    lut = ic.load_lut(point, store)
    codes = Axis("code", "", np.arange(1, ic.MAX_CODE + 1, dtype=float), "index")
    vg, vcol = Axis("v_g", "V", lut.vg_v), Axis("v_col", "V", lut.vcol_v)
    x = lut.sigma_x_v
    patch = np.clip(ic._test_patch(x), lut.vg_v[0], lut.vg_v[-1])  # the deck's offsets reach past the grid
    test = ic.column_voltage(patch, np.asarray(ic.TEST_CODES), lut)
    tables = [
        Table("unit_sqrt_current", [codes, vg, vcol], lut.sqrt_i, "sqrt(A)",
              "sqrt of the current of one weight transistor + select switch (bilinear, squared)"),
        Table("load_current", [vcol], lut.i_load_a, "A", "column sink current; v_col solves sum I = I_load"),
        Table("test_kernel", [Axis("x", "V", x)], test, "V", "column voltage of the deck's 3x3 test kernel at "
              "common pixel offset x (model; pixel levels clipped to the v_g grid); sigma from Monte Carlo", lut.sigma_v, "mismatch (per column)"),
    ]
    scalars = {f"width_code_{k}_um": _scalar(w, "um") for k, w in enumerate(ic.WIDTHS_UM)}
    return BlockExport(tables, scalars, "unit_sqrt_current")


def _sar(block, point, store, n_instances: int = 200, seed: int = 20240615) -> BlockExport:
    from dataclasses import replace

    from circuitsim.blocks import sar_adc

    n = int(block.removeprefix("sar_adc_").removesuffix("b"))
    params = sar_adc.calibrated_params(n, point, store)
    quiet = replace(params, noise_v=0.0, ktc_noise=False)
    levels = params.levels
    fs = params.full_scale_v
    span = min(fs * (1 + 2 / levels), params.v_ref_v)  # a margin of one LSB each side, within +-v_ref
    ramp = np.linspace(-span, span, levels * 64 + 1)

    def edges(instance):
        codes, _ = sar_adc.convert(ramp, quiet, instance)
        # first input at which the code reaches k (monotonic in the mean; mismatch keeps it monotonic here)
        return np.array([ramp[np.argmax(codes >= k)] if np.any(codes >= k) else np.nan for k in range(1, levels)])

    nominal = edges(sar_adc.draw_instance(quiet.ideal()))
    rng = np.random.default_rng(seed)
    drawn = np.stack([edges(sar_adc.draw_instance(quiet, rng)) for _ in range(n_instances)])
    grid = np.arange(1, levels, dtype=float)
    lsb = params.lsb_v
    step = ramp[1] - ramp[0]
    tables = [Table("transitions", [Axis("edge", "", grid, "index")], nominal, "V",
                    f"input v_d at which the code reaches k (nominal instance, ramp step {step:.3g} V = LSB/64); "
                    f"sigma over {n_instances} drawn instances (unit-cap mismatch + comparator offset, seed {seed})",
                    np.nanstd(drawn, axis=0, ddof=1), "mismatch (per converter instance)")]
    if params.input_error_lut:
        vd, err = (np.asarray(a, float) for a in params.input_error_lut)
        tables.append(Table("input_error", [Axis("v_d", "V", vd)], err, "V", "sampled-input nonlinearity e(v_d)"))
    scalars = {"n_bits": _scalar(n, "bit"), "levels": _scalar(levels, ""), "full_scale_V": _scalar(fs, "V"),
               "lsb_V": _scalar(lsb, "V"), "offset_sigma_V": _scalar(params.offset_sigma_v, "V", "per instance"),
               "comparator_noise_V": _scalar(params.noise_v, "V", "per decision (estimate)"),
               "ktc_sigma_V": _scalar(params.ktc_sigma_v, "V", "per conversion"),
               "sigma_unit": _scalar(params.sigma_unit, "", "relative sigma of one unit capacitor"),
               "latency_s": _scalar(params.latency_s, "s")}
    return BlockExport(tables, scalars, "transitions")


def _col_amp(block, point, store) -> BlockExport:
    """Per gain, the hard-mode transfer over v_in_diff with the mismatch σ the block applies there, and the
    temporal noise per gain as scalars."""
    from circuitsim.blocks import col_amp as ca

    lut = ca.load_lut(point, store)
    tables, scalars = [], {}
    for k, gain in enumerate(ca.GAINS):
        # the nominal grid plus the σ table's knots (u = gain * v_in_diff on its Monte Carlo axis): the block's
        # mean is linear between nominal points and its σ between knots, so both are exact on the union
        knots = np.asarray(lut.sigma_u, float) / gain
        x = np.union1d(lut.x_v[k], knots[(knots > lut.x_v[k][0]) & (knots < lut.x_v[k][-1])])
        g = np.full(x.shape, float(gain))
        mean = ca.col_amp(x, g, lut, ca.ColAmpParams(mode="hard"))
        sigma = ca._sigma_mm_reference(x, np.full(x.shape, k, dtype=np.int64), lut)
        tables.append(Table(f"transfer_g{gain}", [Axis("v_in_diff", "V", x)], mean, "V",
                            f"gain {gain}: hard-mode output on the ADC's sampling cap vs v_in_diff = V_rst - V_sig "
                            "(SPICE nominal); noisy mode adds sigma(v_in_diff)*z per instance",
                            sigma, "mismatch (per instance)"))
        tables.append(Table(f"energy_g{gain}", [Axis("v_in_diff", "V", lut.x_v[k])], lut.energy_j[k], "J",
                            f"gain {gain}: energy per sample"))
        scalars[f"thermal_sigma_g{gain}_V"] = _scalar(ca.thermal_noise_v(gain, lut), "V",
                                                      "temporal noise at the output (theory, per sample)")
    return BlockExport(tables, scalars, "transfer_g1")


_BUILDERS = {
    "sample_hold": _error_lut_block, "cds": _error_lut_block, "psf": _buffer, "fvf": _buffer, "scm": _scm,
    "comparator2t": _comparator2t, "ternary": _ternary, "pixel_4t": _pixel, "pixel_4t_3v3": _pixel,
    "inpixel_conv": _inpixel_conv,
    "col_amp": _col_amp, **{f"sar_adc_{n}b": _sar for n in range(2, 9)},
}


def build(block: str, point: OperatingPoint, store: ArtifactStore) -> BlockExport:
    """The export of one registered block; a block without a builder is refused by name."""
    from circuitsim.blocks import get_spec

    get_spec(block)  # unknown names: the registry's message with the valid ones
    if block not in _BUILDERS:
        raise ArtifactError(f"block {block!r} is registered but has no training export "
                            "(circuitsim/export/tables.py lists what each block exports)")
    try:
        return _BUILDERS[block](block, point, store)
    except ArtifactError as exc:
        raise ArtifactError(f"block {block!r} cannot be exported at {point}: {exc}") from None
