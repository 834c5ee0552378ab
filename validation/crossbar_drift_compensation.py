"""PCM crossbar classifier accuracy versus time, with and without global drift compensation (Joshi 2020).

Joshi et al. 2020 (Nat. Commun. 11:2473, abstract and Fig. 5) ran ResNet-32 on CIFAR-10 with every
weight on a differential pair of PCM devices: with global drift compensation the accuracy stayed
above 93.5 % over one day from 93.7 % (a loss below 0.2 percentage points), whereas without
compensation the conductance drift (``G ~ t^-nu``, ``nu ~ 0.05``: -50 % in a year, see
``crossbar_pcm_statistics.py``) shrinks every output and the accuracy decays.

``mixsig study crossbar`` (shipped ``pcm_ibm`` model, published write-noise, 8-bit ADC and DAC,
8 instances, seed 1) runs a linear classifier whose intercepts sit in the digital periphery, so a
global shrink of the analog outputs changes its decisions as it does a deep network's (the
network and task differ from Joshi's, so the check is on the published *shape*, not the exact
accuracy):

* with compensation, the accuracy lost from programming to one day is at most 1 percentage point
  (Joshi: below 0.2; the tolerance covers the sampling error of 8 x 512 test decisions);
* without compensation, the accuracy lost after one year exceeds 5 percentage points (met = 1).
"""

import sys

from mixsig.checks import Check, report
from mixsig.studies.crossbar import DAY, crossbar_study

SOURCE = "Joshi 2020 Nat Commun, Fig. 5 / abstract"


def main():
    result = crossbar_study(times=(0.0, DAY, 365.25 * DAY), variability=(1.0,), adc_bits=(8,), instances=8, seed=1)
    accuracy = result.results["accuracy"].mean("instance").sel(variability=1.0, adc_bits=8)
    with_gdc, without = accuracy.sel(compensation=1).values, accuracy.sel(compensation=0).values
    loss_day = 100 * float(with_gdc[0] - with_gdc[1])
    loss_year = 100 * float(without[0] - without[2])
    checks = [
        Check("accuracy loss over 1 day with compensation (pp)", SOURCE, 0.0, loss_day, 0.0, "pp", atol=1.0),
        Check(f"loss after 1 year without compensation > 5 pp ({loss_year:.1f})", SOURCE, 1.0,
              float(loss_year > 5.0), 0.0, "1", atol=0.0),
    ]
    return report("PCM crossbar accuracy retention with global drift compensation", checks)


if __name__ == "__main__":
    sys.exit(main())
