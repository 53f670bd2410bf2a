"""The run: find adapters (registry), turn cases × dtypes × adapters into units and run their
checks (runner), keep each adapter in a process of its own when asked (isolation), judge the
records by the expectations files (expectations), and hold it together for one command
(session), with its progress bar, interrupt handling, crash journal and environment block."""
