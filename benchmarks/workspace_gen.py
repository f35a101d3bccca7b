"""Generate a large workspace for benchmarks: N projects, each with all 16 job specs (v1) and a route.

    python -m benchmarks.workspace_gen OUT_DIR --projects 1000

Each project is a copy of the sample project's specs (the 16 job names), renamed, so the generated
workspace validates like the sample one.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from compiler.model import JOB_NAMES

REPO_ROOT = Path(__file__).resolve().parent.parent
TEMPLATE_PROJECTS = ("ndr-prod", "ndr-acme-prod")


def template_files() -> dict[str, tuple[str, str]]:
    """job name -> (file text, project it came from): the v1 spec of each job from the sample projects."""
    found: dict[str, tuple[str, str]] = {}
    for job in JOB_NAMES:
        for project in TEMPLATE_PROJECTS:
            for name in (f"{job}#v1.yaml", f"{job}.yaml"):
                path = REPO_ROOT / "specs" / project / name
                if path.is_file() and job not in found:
                    found[job] = (path.read_text(encoding="utf-8"), project)
    missing = sorted(set(JOB_NAMES) - set(found))
    if missing:
        raise SystemExit(f"sample specs lack {missing}")
    return found


def project_name(index: int) -> str:
    return f"bench-{index:05d}"


def generate(out_dir: Path, projects: int) -> Path:
    if out_dir.exists():
        shutil.rmtree(out_dir)
    (out_dir / "specs").mkdir(parents=True)
    shutil.copy(REPO_ROOT / "ndrc.yaml", out_dir / "ndrc.yaml")
    templates = template_files()
    for index in range(projects):
        name = project_name(index)
        folder = out_dir / "specs" / name
        folder.mkdir()
        for job, (text, source_project) in templates.items():
            body = text.replace(source_project, name)
            (folder / f"{job}#v1.yaml").write_text(body, encoding="utf-8")
        (folder / "routing.yaml").write_text(
            "routes:\n"
            f"  - org1: org{index:05d}\n"
            "    org2: main\n"
            f'    ingestion_prefix: "s3://{{{{ env.buckets.ingestion }}}}/paloalto/org{index:05d}/main"\n'
            "    feature_spec_version: v1\n",
            encoding="utf-8",
        )
    return out_dir


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--projects", type=int, default=1000)
    args = parser.parse_args()
    generate(args.out_dir, args.projects)
    print(f"generated {args.projects} projects x {len(JOB_NAMES)} specs in {args.out_dir}")


if __name__ == "__main__":
    main()
