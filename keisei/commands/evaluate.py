"""`keisei evaluate` (placeholder until implemented)."""


def register(sub):
    p = sub.add_parser("evaluate", help="not implemented yet")
    p.set_defaults(func=lambda args: (_ for _ in ()).throw(NotImplementedError("evaluate")))
