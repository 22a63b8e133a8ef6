"""The agent console: sign-in and CSRF, accounts, access rules, the agent socket, chat actions,
presence and the sweeper, the console API, and reply aids."""
