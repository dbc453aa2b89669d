from ._cli_entry import main

main()
