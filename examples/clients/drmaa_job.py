"""A Grid Engine job through DRMAA (python drmaa and the cluster's libdrmaa)."""

import os
from pathlib import Path

import drmaa

with drmaa.Session() as session:
    template = session.createJobTemplate()
    template.remoteCommand = "/bin/sh"
    template.args = ["-c", "echo hello from $(hostname)"]
    template.outputPath = ":" + os.path.abspath("drmaa.out")
    template.joinFiles = True
    job = session.runJob(template)
    info = session.wait(job, drmaa.Session.TIMEOUT_WAIT_FOREVER)
    print(f"DRMAA job {job} ({session.drmsInfo}): exit status {info.exitStatus};",
          Path("drmaa.out").read_text().strip())
