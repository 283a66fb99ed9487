"""``python -m kpconv`` (also what ``torchrun -m kpconv train ...`` runs)."""

from kpconv.cli import main

if __name__ == "__main__":
    main()
