#!/usr/bin/env python3
"""Check the deployment files without a cluster (tests/test_deploy.c runs it).

    check_deploy.py KUBERNETES_DIR DOCKERFILE REHEARSE_BIN

Kubernetes manifests: every file parses as YAML; every object has the
fields the API server requires (apiVersion, kind, metadata.name); Jobs have
a pod template with containers that have a name, an image and a command,
restartPolicy Never or OnFailure, and a volume for every volumeMount;
the replay Job is an Indexed Job whose pods pick their shard from
JOB_COMPLETION_INDEX; every $(VAR) a container uses is defined (its env,
the ConfigMap it reads, or the Job controller's JOB_COMPLETION_INDEX); the
ConfigMap's SHARDS equals the replay Job's completions; the claim the Jobs
mount exists and is ReadWriteMany; the kustomization lists every manifest;
every rehearse option the manifests pass is one `rehearse replay --help`
lists.

Dockerfile: a build stage and a runtime stage, and the runtime stage
installs the Debian package of every shared library the rehearse binary
needs (readelf's NEEDED entries, packages found with dpkg -S).

Prints one line per problem ("FILE: where: what") and exits 1 when there is
any, 0 otherwise.
"""
import os
import re
import subprocess
import sys

import yaml

problems = []


def problem(where, what):
    problems.append(f"{where}: {what}")


def get(obj, path):
    for key in path.split("."):
        if not isinstance(obj, dict) or key not in obj:
            return None
        obj = obj[key]
    return obj


def load_manifests(kdir):
    objects = []  # (file, object)
    for name in sorted(os.listdir(kdir)):
        if not name.endswith((".yaml", ".yml")):
            continue
        path = os.path.join(kdir, name)
        try:
            with open(path) as f:
                docs = [d for d in yaml.safe_load_all(f) if d is not None]
        except yaml.YAMLError as e:
            problem(name, f"not valid YAML: {e}")
            continue
        for doc in docs:
            if not isinstance(doc, dict):
                problem(name, "a document that is not a mapping")
                continue
            objects.append((name, doc))
    return objects


def check_required(name, obj):
    for field in ("apiVersion", "kind"):
        if not isinstance(obj.get(field), str) or not obj[field]:
            problem(name, f"missing {field}")
    if obj.get("kind") == "Kustomization":
        return
    meta_name = get(obj, "metadata.name")
    if not isinstance(meta_name, str) or not re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", meta_name):
        problem(name, f"metadata.name must be a DNS-1123 label, found {meta_name!r}")


VAR = re.compile(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)")


def check_container(name, where, c, volumes, configmaps, defined_extra):
    for field in ("name", "image"):
        if not isinstance(c.get(field), str) or not c[field]:
            problem(name, f"{where}: missing {field}")
    if not c.get("command") and not c.get("args"):
        problem(name, f"{where}: no command or args (the image's default would run)")
    for field in ("command", "args"):
        if field in c and not (isinstance(c[field], list) and all(isinstance(a, str) for a in c[field])):
            problem(name, f"{where}.{field}: expected a list of strings")
    for m in c.get("volumeMounts") or []:
        if m.get("name") not in volumes:
            problem(name, f"{where}: volumeMount {m.get('name')!r} names no volume of the pod")
        if not str(m.get("mountPath", "")).startswith("/"):
            problem(name, f"{where}: volumeMount {m.get('name')!r} needs an absolute mountPath")
    # $(VAR) references must resolve, as the kubelet expands them
    defined = set(defined_extra)
    for ref in c.get("envFrom") or []:
        cm = get(ref, "configMapRef.name")
        if cm is not None:
            if cm not in configmaps:
                problem(name, f"{where}: envFrom names ConfigMap {cm!r}, which is not in the manifests")
            else:
                defined |= set(configmaps[cm])
    for e in c.get("env") or []:
        for v in VAR.findall(str(e.get("value", ""))):
            if v not in defined:
                problem(name, f"{where}: env {e.get('name')}: $({v}) is not defined before it")
        defined.add(e.get("name"))
    for field in ("command", "args"):
        for arg in c.get(field) or []:
            for v in VAR.findall(arg):
                if v not in defined:
                    problem(name, f"{where}.{field}: $({v}) is not defined (env, envFrom)")


def rehearse_options(binary, command):
    out = subprocess.run([binary, command, "--help"], capture_output=True, text=True, check=False)
    return set(re.findall(r"--[a-z][a-z0-9-]*", out.stdout)) | {"-o", "-q"}


def check_manifests(kdir, binary):
    objects = load_manifests(kdir)
    files = {n for n in os.listdir(kdir) if n.endswith((".yaml", ".yml"))}
    configmaps = {get(o, "metadata.name"): (o.get("data") or {}) for _, o in objects
                  if o.get("kind") == "ConfigMap"}
    claims = {get(o, "metadata.name"): o for _, o in objects
              if o.get("kind") == "PersistentVolumeClaim"}
    jobs = [(n, o) for n, o in objects if o.get("kind") == "Job"]
    replay_options = rehearse_options(binary, "replay")
    indexed = []
    for name, obj in objects:
        check_required(name, obj)
        kind = obj.get("kind")
        if kind == "Kustomization":
            listed = set(obj.get("resources") or [])
            for f in sorted(files - listed - {name}):
                problem(name, f"resources does not list {f}")
            for f in sorted(listed - files):
                problem(name, f"resources lists {f}, which does not exist")
        elif kind == "PersistentVolumeClaim":
            if "ReadWriteMany" not in (get(obj, "spec.accessModes") or []):
                problem(name, "spec.accessModes: every pod mounts the volume: ReadWriteMany")
            if not get(obj, "spec.resources.requests.storage"):
                problem(name, "spec.resources.requests.storage is required")
    if not jobs:
        problem(kdir, "no Job")
    for name, job in jobs:
        if job.get("apiVersion") != "batch/v1":
            problem(name, f"apiVersion: a Job is batch/v1, found {job.get('apiVersion')!r}")
        spec = job.get("spec") or {}
        pod = get(spec, "template.spec") or {}
        if pod.get("restartPolicy") not in ("Never", "OnFailure"):
            problem(name, f"spec.template.spec.restartPolicy: a Job needs Never or OnFailure, "
                          f"found {pod.get('restartPolicy')!r}")
        for field in ("completions", "parallelism"):
            if field in spec and (not isinstance(spec[field], int) or spec[field] < 1):
                problem(name, f"spec.{field}: expected a positive integer")
        volumes = {}
        for v in pod.get("volumes") or []:
            volumes[v.get("name")] = v
            claim = get(v, "persistentVolumeClaim.claimName")
            if claim is not None and claim not in claims:
                problem(name, f"volume {v.get('name')!r}: claim {claim!r} is not in the manifests")
        containers = pod.get("containers") or []
        if not containers:
            problem(name, "spec.template.spec.containers: at least one container")
        extra = {"JOB_COMPLETION_INDEX"} if spec.get("completionMode") == "Indexed" else set()
        for kind in ("initContainers", "containers"):
            for i, c in enumerate(pod.get(kind) or []):
                check_container(name, f"{kind}[{i}]", c, volumes, configmaps, extra)
        if spec.get("completionMode") == "Indexed":
            indexed.append((name, job))
            if not isinstance(spec.get("completions"), int):
                problem(name, "spec.completions is required with completionMode Indexed")
            if isinstance(spec.get("parallelism"), int) and isinstance(spec.get("completions"), int) \
                    and spec["parallelism"] > spec["completions"]:
                problem(name, "spec.parallelism above completions: pods would wait for no index")
            for c in containers:
                args = (c.get("command") or []) + (c.get("args") or [])
                if "--shard" not in args or args.index("--shard") + 1 >= len(args):
                    problem(name, "the replay container passes no --shard")
                    continue
                shard = args[args.index("--shard") + 1]
                if not shard.startswith("$(JOB_COMPLETION_INDEX)/"):
                    problem(name, f"--shard {shard}: the shard index must be $(JOB_COMPLETION_INDEX)")
                for a in args:
                    if a.startswith("-") and a not in replay_options:
                        problem(name, f"{a}: 'rehearse replay' has no such option")
                for e in c.get("envFrom") or []:
                    cm = configmaps.get(get(e, "configMapRef.name"), {})
                    if "SHARDS" in cm and str(cm["SHARDS"]) != str(spec.get("completions")):
                        problem(name, f"spec.completions {spec.get('completions')} is not the "
                                      f"ConfigMap's SHARDS {cm['SHARDS']}: shards would be missing")
    if not indexed:
        problem(kdir, "no Job with spec.completionMode: Indexed (the sharded replay)")
    merges = [n for n, j in jobs if "rehearse merge" in yaml.safe_dump(get(j, "spec.template.spec"))]
    if not merges:
        problem(kdir, "no Job runs 'rehearse merge' after the replay")


def needed_packages(binary):
    out = subprocess.run(["readelf", "-d", binary], capture_output=True, text=True, check=True)
    packages = {}
    for lib in re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", out.stdout):
        found = subprocess.run(["dpkg", "-S", f"*/{lib}"], capture_output=True, text=True)
        pkgs = {line.split(":")[0] for line in found.stdout.splitlines()
                if not line.startswith("diversion")}
        packages[lib] = pkgs
    return packages


def check_dockerfile(path, binary):
    name = os.path.basename(path)
    with open(path) as f:
        text = f.read()
    stages = re.split(r"(?im)^FROM\s+", text)[1:]
    if len(stages) < 2:
        problem(name, "expected a build stage and a runtime stage (two FROM lines)")
        return
    runtime = stages[-1]
    if not re.search(r"(?im)^ENTRYPOINT\s+\[\"rehearse\"\]", runtime):
        problem(name, "the runtime stage's ENTRYPOINT is not [\"rehearse\"]")
    if not re.search(r"(?im)^USER\s+\S", runtime):
        problem(name, "the runtime stage runs as root (no USER)")
    words = set(re.findall(r"[a-z0-9][a-z0-9.+-]+", runtime))
    for lib, pkgs in needed_packages(binary).items():
        if re.match(r"lib(a|ub|l|t)san\.", lib):
            continue  # a sanitized build's runtime (make asan), not the image's
        base = {"libc6"}  # in every Debian image
        if pkgs and not (pkgs & (words | base)):
            problem(name, f"the runtime stage installs none of {sorted(pkgs)}, "
                          f"which provide {lib} (needed by rehearse)")


def main():
    if len(sys.argv) != 4:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    kdir, dockerfile, binary = sys.argv[1:]
    check_manifests(kdir, binary)
    check_dockerfile(dockerfile, binary)
    for p in problems:
        print(p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
