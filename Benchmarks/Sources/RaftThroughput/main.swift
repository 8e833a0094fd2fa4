print("raft-throughput: arrives with the RaftNode")
