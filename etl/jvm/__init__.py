"""The job's JVM functions (one jar, compiled from the Java sources here against Spark's own jars).

The jar is built by `make install` and, when missing or older than its sources, by the first local session
(`javac` comes with the JDK that runs Spark). On EMR Serverless it travels with the job (`etl/emr.py`).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

SOURCES = Path(__file__).resolve().parent
JAR = SOURCES / "build" / "clickstream-etl.jar"
FUNCTIONS = {"clickstream_gunzip": ("clickstream.etl.GunzipBase64", "string")}


def _spark_jars() -> Path:
    import pyspark

    return Path(pyspark.__file__).resolve().parent / "jars"


def _javac() -> str:
    home = os.environ.get("JAVA_HOME")
    found = str(Path(home) / "bin" / "javac") if home else shutil.which("javac")
    if not found or not Path(found).exists():
        raise RuntimeError(
            "javac not found: the ETL job needs a JDK (Debian: openjdk-17-jdk-headless) to build "
            f"{JAR.name}; `make install` installs it"
        )
    return found


def _run(*command: str) -> None:
    try:
        subprocess.run(command, check=True, capture_output=True, text=True)
    except subprocess.CalledProcessError as error:
        raise RuntimeError(f"building {JAR.name} failed: {error.stderr.strip()}") from error


def ensure_jar() -> Path:
    """The jar, (re)built when missing or older than a source; the new jar replaces the old atomically."""
    sources = sorted(SOURCES.glob("*.java"))
    if JAR.exists() and JAR.stat().st_mtime >= max(s.stat().st_mtime for s in sources):
        return JAR
    JAR.parent.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(dir=JAR.parent) as tmp:
        classes, built = Path(tmp) / "classes", Path(tmp) / JAR.name
        javac = _javac()
        _run(
            javac,
            "--release",
            "17",
            "-nowarn",
            "-cp",
            f"{_spark_jars()}/*",
            "-d",
            str(classes),
            *map(str, sources),
        )
        _run(str(Path(javac).with_name("jar")), "cf", str(built), "-C", str(classes), ".")
        os.replace(built, JAR)
    return JAR


def register(spark: object) -> None:
    """Registers the jar's functions as SQL functions of the session (the jar must be on its classpath)."""
    for name, (cls, return_type) in FUNCTIONS.items():
        spark.udf.registerJavaFunction(name, cls, return_type)  # type: ignore[attr-defined]
