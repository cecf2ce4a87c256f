"""`keisei ratings` (placeholder until implemented)."""


def register(sub):
    p = sub.add_parser("ratings", help="not implemented yet")
    p.set_defaults(func=lambda args: (_ for _ in ()).throw(NotImplementedError("ratings")))
