"""`keisei train` (placeholder until implemented)."""


def register(sub):
    p = sub.add_parser("train", help="not implemented yet")
    p.set_defaults(func=lambda args: (_ for _ in ()).throw(NotImplementedError("train")))
