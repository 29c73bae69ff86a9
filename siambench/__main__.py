from siambench.cli import main

main()
