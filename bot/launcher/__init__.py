"""`make run`: start the whole stack on one machine and stop all of it on Ctrl-C.

    redis-server (private, AOF on, var/redis)   unless REDIS_URL points at one
    mail catcher        127.0.0.1:MAIL_CATCHER_PORT   the customers' mail provider, unless SMTP_URL
    rasa run            127.0.0.1:RASA_PORT     HTTP API behind a token kept in var/rasa-token
    NLG server          127.0.0.1:NLG_PORT      the answers, re-read when an editor changes them
    action server       127.0.0.1:ACTIONS_PORT
    handoff service     HANDOFF_HOST:HANDOFF_PORT   the only part customers and agents reach
                        (its inbound mail on 127.0.0.1:INBOUND_SMTP_PORT unless INBOUND_SMTP_LISTEN)

Every problem a newcomer is likely to hit (a port in use, Redis unreachable, a broken YAML file,
a second `make run`) ends in one sentence that says what is wrong and how to fix it. Children run
in their own process groups and die with the launcher (PR_SET_PDEATHSIG), so nothing is orphaned.

    errors.py       LaunchError: a problem the user can fix, in one sentence
    config.py       StackConfig: ports, folders and Redis, read from the environment
    preflight.py    checks before anything starts: free ports, Redis answers, valid YAML
    lock.py         one stack per folder (var/launcher.lock)
    environment.py  the generated secrets and the environment every child gets
    supervisor.py   children in their own process groups, waited for, stopped together
    services.py     which children, in which order, and when each is ready
    main.py         `python -m bot.launcher`: lock, check, start, watch, stop

Importing the package starts nothing; the standard library and redis-py (the Redis check) are
all it uses, the two virtual environments do the real work.
"""
