"""The agent: tools a model may call, the rules that say which calls run, and MCP servers.

Provider-independent on purpose: a tool is a `ToolSpec` (wire name, JSON-schema parameters,
effect) plus an async `run`; the loop hands the registry the model's calls and gets
`CallOutcome`s back, whatever the provider's tool-call format.

    tools.py        ToolSpec, ToolResult, Tool, Effect, wire names
    registry.py     ToolRegistry: the tools of one run, their definitions, argument checks
    approval.py     Approver, ApprovalPolicy, ApprovalRules: who says yes to a call, and how
    commands.py     command lines: argv or shell, operators, allowlist prefixes
    executor.py     ToolExecutor: validate -> rule -> ask -> run, one CallOutcome per call
    workspace.py    Workspace: the directories tools may touch, race-resistant file access
    builtin/        read_file, list_dir, search, write_file, edit_file, run_command
    config.py       [agent] and [mcp.servers.NAME] from config.toml, validated
    mcp_client.py   McpManager: MCP servers started lazily, their tools, stopped at exit
    toolbox.py      prepare_tools(): one run's executor from config, flags and a face's Approver

Nothing here is imported by headless commands; `mcp`, `jsonschema`, `regex` and `pathspec`
are imported where they are first needed.
"""
