"""Scale-out: interchem flows on clusters through jobflow-remote (SLURM, local or over SSH).

* ``resources``: the SLURM resources of a submission (CLI flags or a YAML file) -> qtoolkit resources;
* ``project``: jobflow-remote project files generated from the templates in ``fireworks_config/``;
* ``flows``: any interchem flow by name (``screen``) or by Maker (``module:attr`` / a YAML spec);
* ``preflight``: everything that can be wrong is checked before anything is submitted (store reachable,
  credentials valid, project and worker defined, SLURM partition exists, worker has the packages);
* ``submit``: reuse of stored identical calculations, then ``jobflow_remote.submit_flow``;
* ``recover``: rerun the failed, cancelled or lost jobs of a submitted flow without prompts.
"""
