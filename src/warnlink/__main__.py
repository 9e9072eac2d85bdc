from warnlink.cli import main

main()
