"""#14 item 6 analysis (python .wip/fvf_sar_interface.py [corner]): the FVF driving the SAR's sampling front end (its TG + CDAC caps, from netlists/sar_adc.cir) for the SAR's one
2.5 ns sampling cycle: sampled top plate vs the FVF's settled output, for the array starting at the previous
sample. Hand check: falling, the 30 uA sink moves ~350 fF by 30u*2.3n/350f = 0.2 V at most."""
import numpy as np, sys
from circuitsim.technology import load_technology
from circuitsim.spice.netlist import render_deck, load_netlist, Netlist
from circuitsim.spice.session import SpiceSession
from circuitsim.spice.analyses import apply_point, transient
tech = load_technology("sky130")
fvf = load_netlist("fvf")
load = """.param vtop_v=0.9
vcmsar vcms 0 0.9
vphs phs 0 pwl(0 0 2n 0 2.02n 1.8 4.3n 1.8 4.32n 0)
vphsb phsb 0 pwl(0 1.8 2n 1.8 2.02n 0 4.3n 0 4.32n 1.8)
xsn out phs top 0 nmos_lvt w=4 l=0.15
xsp out phsb top vdd pmos_lvt w=8 l=0.35
xk1 top vcms mim w=9.05 l=9.05
xk2 top vcms mim w=6.3554 l=6.3554
xk3 top vcms mim w=4.45 l=4.45
xk4 top vcms mim w=3.1027 l=3.1027
xk5 top vcms mim w=2.15 l=2.15
xk6 top vcms mim w=1.4763 l=1.4763
xk7 top vcms mim w=1.0 l=1.0
xk8 top vcms mim w=1.0 l=1.0
xkd top vcms mim w=1.0 l=1.0
.ic v(top)={vtop_v}"""
text = []
for line in fvf.text.splitlines():
    if line.startswith("xcl out 0 mim"):
        text.append(load); continue
    if line.startswith(".ic") or line.startswith(".dc"):
        continue
    if line.startswith("vin in 0"):
        line = "vin in 0 dc {vin_v}"
    text.append(line)
s = SpiceSession.shared()
corner = sys.argv[1] if len(sys.argv) > 1 else "tt"
s.load(render_deck(Netlist("fvf_sar", fvf.path, "\n".join(text)), tech, corner, 27), name="fvf_sar")
print("corner", corner, "| v_in (o-buffer) | array before | FVF settled | sampled | error mV")
for v_in, v_top in ((0.1, 1.6), (0.3, 1.4), (0.5, 1.2), (0.7, 1.0), (0.6, 0.8), (1.0, 0.6), (0.3, 0.7), (0.5, 1.0)):
    apply_point(s, None, vin_v=v_in, vprev_v=v_in, vtop_v=v_top)
    w = transient(s, 10e-12, 5e-9, ["out", "top"], max_step_s=10e-12)
    t = w["time_s"].to_numpy()
    settled = float(np.interp(1.9e-9, t, w["v_out_V"].to_numpy()))
    sampled = float(np.interp(4.5e-9, t, w["v_top_V"].to_numpy()))
    print(f"  {v_in:.2f} | {v_top:.2f} | {settled:.4f} | {sampled:.4f} | {1e3*(sampled-settled):+.1f}")
