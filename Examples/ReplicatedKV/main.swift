print("ReplicatedKV: arrives with the RaftNode")
