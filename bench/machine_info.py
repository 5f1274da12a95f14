"""What the benchmark scripts record about the machine they ran on."""


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo, or "unknown"."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


def host() -> dict:
    """When and on what a benchmark ran; the load matters because the machine is shared."""
    import os
    import platform
    import time

    return {
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "loadavg_at_start": os.getloadavg(),  # other work on the machine inflates medians
        "machine": platform.machine(),
        "nproc": os.cpu_count(),
        "cpu": cpu_model(),
    }
