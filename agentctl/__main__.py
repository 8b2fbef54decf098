from agentctl.cli.entry import main

main()
