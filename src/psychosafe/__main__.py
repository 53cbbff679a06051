from psychosafe.cli import main

main()
