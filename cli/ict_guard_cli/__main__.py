from ict_guard_cli import main

main()
