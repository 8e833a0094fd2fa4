"""A Caravan client written against Protos/ alone, with Python's grpcio.

Generates the stubs from the .proto files into a temporary directory, then
registers a job, lists it, reads it, stops it and checks that it is stopped.
Prints one line per step; exits non-zero on the first failure.

    python3 caravan_client.py PROTO_DIR HOST:PORT
"""
import importlib
import json
import sys
import tempfile
from pathlib import Path

from grpc_tools import protoc
import grpc


def generate(proto_dir: Path, out: Path) -> None:
    protos = sorted(str(p.relative_to(proto_dir)) for p in proto_dir.rglob("*.proto"))
    args = ["protoc", f"-I{proto_dir}", f"--python_out={out}", f"--grpc_python_out={out}", *protos]
    if protoc.main(args) != 0:
        sys.exit("protoc failed")


def main() -> None:
    proto_dir, address = Path(sys.argv[1]), sys.argv[2]
    out = Path(tempfile.mkdtemp(prefix="caravan-py-"))
    generate(proto_dir, out)
    sys.path.insert(0, str(out))
    jobs_pb2 = importlib.import_module("caravan.api.v1.jobs_pb2")
    jobs_grpc = importlib.import_module("caravan.api.v1.jobs_pb2_grpc")

    channel = grpc.insecure_channel(address)
    grpc.channel_ready_future(channel).result(timeout=10)
    jobs = jobs_grpc.JobsStub(channel)

    spec = {
        "id": "from-python", "type": "batch", "datacenters": ["*"],
        "groups": [{"name": "g", "count": 1, "tasks": [{
            "name": "t", "driver": "exec", "config": {"command": "/bin/true"},
            "resources": {"cpu": 10, "memory_mb": 8}}]}],
    }
    registered = jobs.Register(jobs_pb2.RegisterJobRequest(spec_json=json.dumps(spec).encode()), timeout=10)
    assert registered.job_id == "from-python" and registered.meta.index > 0, registered
    print(f"registered {registered.job_id} at index {registered.meta.index}")

    listed = jobs.List(jobs_pb2.ListJobsRequest(), timeout=10)
    assert [j.id for j in listed.jobs] == ["from-python"], listed
    print(f"listed {[j.id for j in listed.jobs]}")

    got = jobs.Get(jobs_pb2.GetJobRequest(job_id="from-python"), timeout=10)
    assert json.loads(got.job.spec_json)["id"] == "from-python", got
    print(f"got version {got.job.summary.version}")

    stopped = jobs.Stop(jobs_pb2.StopJobRequest(job_id="from-python"), timeout=10)
    assert stopped.meta.index > registered.meta.index, stopped
    after = jobs.Get(jobs_pb2.GetJobRequest(job_id="from-python"), timeout=10)
    assert after.job.summary.stop, after
    print(f"stopped at index {stopped.meta.index}")

    try:
        jobs.Register(jobs_pb2.RegisterJobRequest(spec_json=b'{"id": "x", "colour": 1}'), timeout=10)
        sys.exit("an invalid spec was accepted")
    except grpc.RpcError as error:
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT, error
        print(f"invalid spec refused: {error.details().splitlines()[0]}")


if __name__ == "__main__":
    main()
