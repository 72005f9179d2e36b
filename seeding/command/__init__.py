"""What every command of the package shares (``python -m seeding``, ``python -m seeding.stand``, ``… serve``).

    _arguments  one-line usage errors, the exit codes, flags for numbers that say what they accept
    _collector  the garbage collector around one command, and around a server whose data only grows
    _server_subprocess  a server command (the stand, the service) in a child process: ready line, stop, logs

Below every other layer: the stand and the service use it without knowing the command line.
"""
