/// Executor runs tasks on a node behind one protocol, ``TaskDriver``: the
/// built-in ``ExecDriver`` (host processes), ``DockerDriver`` (containers through
/// the Docker Engine API) and ``WasmDriver`` (WASI modules in WasmKit), and any
/// custom driver registered in a ``DriverRegistry``. Tasks are described by the
/// driver-neutral ``TaskSpec``, run in a ``TaskDirectory``, log to rotating files
/// (``LogRotator``, ``LogReader``) and are reattached after an agent restart from
/// their ``TaskHandle``. Executor knows nothing of Raft or of the job model.
public enum Executor {}
