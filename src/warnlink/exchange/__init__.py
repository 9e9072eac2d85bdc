"""Exchange between nations: signed envelopes, audit log, transports (NATS and in-memory), the NATS server.

* :mod:`signing`: Ed25519 node keys and the key ring of trusted partners' public keys;
* :mod:`envelope`: sealing (sign, sequence, timestamp) and verification of every message;
* :mod:`audit`: the append-only, hash-chained log of what a node sent, received and refused;
* :mod:`transport`: one interface, over a real nats-server or in memory for unit tests;
* :mod:`server`: a nats-server for a run, one account per nation.
"""
