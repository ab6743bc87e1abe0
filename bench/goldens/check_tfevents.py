"""Reads a run's TensorBoard event files with TensorBoard's own reader (not part of the product).

    MMIT_TFEVENTS_OUT=/tmp/tb node scripts/test.mjs packages/train/src/run.test
    python3 bench/goldens/check_tfevents.py /tmp/tb

(or a folder `mmit train tensorboard <run> --out <dir>` wrote). Prints each scalar tag's steps and
values as EventAccumulator sees them: with purge_orphaned_data (its default), a resumed attempt's
SessionLog START drops what the earlier attempt logged past the resumed checkpoint.
"""
import sys

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

acc = EventAccumulator(sys.argv[1], size_guidance={"scalars": 0})
acc.Reload()
tags = sorted(acc.Tags()["scalars"])
print(f"{len(tags)} scalar tags")
for tag in tags:
    rows = acc.Scalars(tag)
    print(tag, " ".join(f"{r.step}:{r.value:.4g}" for r in rows))
