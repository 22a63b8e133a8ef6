"""The system of record: conversations in Redis, their keys, the Lua scripts that move them
atomically, and the pub/sub hints that wake the sockets watching them."""
