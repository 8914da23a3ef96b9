from pkgdepot.cli import main

main()
