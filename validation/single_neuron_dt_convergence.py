"""Poisson-driven soma: firing rate converges as the time step shrinks.

The silicon soma driven through its AMPA DPI by Poisson input (the ``mixsig run`` single-neuron
job) is integrated with the same input trains at dt, dt/2 and dt/4. Input spike times are drawn in
continuous time, so only the step changes between runs (pulse onsets move to the start of their
step: a timing error below dt). Acceptance (issue 2): the mean rate at the default dt differs by
less than 1 % from the rate at dt/2; dt/4 shows the trend continues. Both integrators are checked
(issue 15): ``exact`` and ``fast`` (one Heun step of the soma per step, so its own error also
shrinks with dt), and the two agree within 1 % at dt/4.
"""

import dataclasses
import sys

from mixsig.checks import Check, report
from mixsig.engine.single_neuron import SingleNeuronJob, run_single_neuron

DEFAULT_DT = SingleNeuronJob().dt
TRAINS = 32
DURATION = 2.0


INTEGRATORS = ("exact", "fast")


def rates(integrator="exact"):
    """Mean output rate (Hz) of the job at dt, dt/2 and dt/4, same input trains."""
    base = SingleNeuronJob(duration=DURATION, trains=TRAINS, seed=1, integrator=integrator)
    return {
        factor: run_single_neuron(dataclasses.replace(base, dt=DEFAULT_DT / factor)).rate
        for factor in (1, 2, 4)
    }


def main():
    checks, finest = [], {}
    for integrator in INTEGRATORS:
        measured = rates(integrator)
        finest[integrator] = measured[4]
        for factor, rate in measured.items():
            print(f"{integrator:>5}, dt = {DEFAULT_DT / factor * 1e6:g} us: {rate:.3f} Hz")
        checks += [
            Check(f"{integrator}: rate at dt vs dt/2", "issue 2 acceptance (< 1 %)", measured[2], measured[1],
                  rtol=0.01, units="Hz"),
            Check(f"{integrator}: rate at dt/2 vs dt/4", "convergence trend (< 1 %)", measured[4], measured[2],
                  rtol=0.01, units="Hz"),
        ]
    checks.append(Check("fast vs exact: rate at dt/4", "same equations (< 1 %)", finest["exact"], finest["fast"],
                        rtol=0.01, units="Hz"))
    return report("Poisson-driven single neuron: dt convergence", checks)


if __name__ == "__main__":
    sys.exit(main())
