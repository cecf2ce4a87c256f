"""KIF records, including board-diagram (BOD) start positions.

Written as ``.kif`` in Shift_JIS (cp932) or as ``.kifu`` in UTF-8, the convention Shogi software (and
cshogi's ``KIF.Parser.parse_file``) reads by suffix; read in either encoding. The closing line names the
winner (``まで81手で先手の勝ち``), the players are named (``先手：``/``後手：``).

cshogi's KIF reader ignores BOD start positions, so the header and moves are read here; cshogi supplies the
move notation (``move_to_kif``), the diagram writer and the handicap table. Keisei writes a
``#keisei-result: <winner> <reason>`` comment for an exact round trip; other KIF files are read through
their end word (投了, 詰み, 千日手 ...), relative to the side to move.
"""

from __future__ import annotations

import re

import cshogi
import cshogi.KIF as cshogi_kif

from keisei.shogi.game import EXTERNAL_REASONS, Game, GameResult
from keisei.shogi.record_base import Ending, ParsedRecord, parse_result_comment, result_comment
from keisei.shogi.sfen import STARTPOS_SFEN, validate_sfen

__all__ = ["parse_kif", "write_kif", "write_kifu"]

_TIME = "   ( 0:00/00:00:00)"
_END_WORDS = {
    "投了": Ending("stm_loses", "resign"),
    "切れ負け": Ending("stm_loses", "time"),
    "反則負け": Ending("stm_loses", "illegal_move"),
    "反則勝ち": Ending("stm_wins", "illegal_move"),
    "入玉勝ち": Ending("stm_wins", "impasse"),
    "持将棋": Ending("draw", "impasse"),
    "中断": Ending("draw", "max_plies"),
    "詰み": Ending("rule", "checkmate"),
    "千日手": Ending("rule", "repetition"),
}
_LINE_RE = re.compile(r"\s*([0-9]+)\s+(\S+)")
_BODY_RE = re.compile(
    r"(?:(同)|([１-９])([一二三四五六七八九]))(成[銀桂香]|[歩香桂銀金角飛玉王と杏圭全馬龍竜])(不成|成)?(?:(打)|\(([0-9])([0-9])\))"
)
_PIECE_ALIASES = {"王": "玉", "竜": "龍", "成銀": "全", "成桂": "圭", "成香": "杏"}
_BOD_LETTERS = dict(
    zip(
        "歩香桂銀金角飛玉王と杏圭全馬龍竜",
        ["P", "L", "N", "S", "G", "B", "R", "K", "K", "+P", "+L", "+N", "+S", "+B", "+R", "+R"],
    )
)
_KANJI_DIGITS = "一二三四五六七八九"


_SIDE = {"black": "先手", "white": "後手"}


def _end_word(result: GameResult, turn: str) -> str:
    if result.winner is None and result.reason in EXTERNAL_REASONS:
        return "中断"
    if result.reason == "illegal_move":
        return "反則勝ち" if result.winner == turn else "反則負け"
    if result.reason == "impasse":
        return "入玉勝ち" if result.winner else "持将棋"
    return {
        "checkmate": "詰み",
        "no_moves": "詰み",
        "repetition": "千日手",
        "perpetual_check": "千日手",
        "max_plies": "中断",
        "resign": "投了",
        "time": "切れ負け",
    }[result.reason]


def _summary(result: GameResult, turn: str, plies: int) -> str:
    """The closing ``まで...`` line in the form cshogi's (and the usual) KIF readers take the winner from."""
    winner = result.winner
    if winner is None:
        return f"まで{plies}手で{_end_word(result, turn)}"
    loser = "white" if winner == "black" else "black"
    if result.reason == "illegal_move" and loser == turn:
        return f"まで{plies}手で{_SIDE[loser]}の反則負け"
    if result.reason in ("illegal_move", "perpetual_check"):
        return f"まで{plies}手で{_SIDE[winner]}の反則勝ち"
    if result.reason == "impasse":
        return f"まで{plies}手で{_SIDE[winner]}の入玉勝ち"
    return f"まで{plies}手で{_SIDE[winner]}の勝ち"


def _name(name: str) -> str:
    return " ".join(str(name).split()) or "?"


def write_kif(game: Game, names: tuple[str, str] | None = None, encoding: str = "Shift_JIS") -> str:
    """KIF text; ``names`` = (black, white); ``encoding`` is what the header declares (the caller encodes)."""
    black, white = names or ("black", "white")
    start = cshogi.Board(game.start_sfen)
    lines = [f"#KIF version=2.0 encoding={encoding}"]
    if game.result is not None:
        lines.append("#" + result_comment(game.result))
    if game.start_sfen.rsplit(" ", 1)[0] == STARTPOS_SFEN.rsplit(" ", 1)[0]:
        lines.append("手合割：平手")
    else:
        lines.append(cshogi_kif.board_to_bod(start))
    lines += [f"先手：{_name(black)}", f"後手：{_name(white)}", "手数----指手---------消費時間--"]
    prev = None
    for n, move in enumerate(game.move_ints, 1):
        lines.append(f"{n:>4} {cshogi_kif.move_to_kif(move, prev)}{_TIME}")
        prev = move
    result = game.result
    if result is not None:
        lines.append(f"{game.ply + 1:>4} {_end_word(result, game.turn)}{_TIME}")
        lines.append(_summary(result, game.turn, game.ply))
    return "\n".join(lines) + "\n"


def write_kifu(game: Game, names: tuple[str, str] | None = None) -> str:
    """KIF text declared UTF-8 (the ``.kifu`` convention)."""
    return write_kif(game, names, encoding="UTF-8")


def _kif_token(game: Game, token: str) -> str:
    m = _BODY_RE.fullmatch(token)
    if m is None:
        raise ValueError("malformed KIF move")
    same, file, rank, piece, promo, drop, from_file, from_rank = m.groups()
    board = game.board
    if same:
        if game.ply == 0:
            raise ValueError("'同' with no previous move")
        to_sq = cshogi.move_to(board.peek())
    else:
        to_sq = ("１２３４５６７８９".index(file)) * 9 + _KANJI_DIGITS.index(rank)
    piece_type = cshogi.PIECE_JAPANESE_SYMBOLS.index(_PIECE_ALIASES.get(piece, piece))
    if drop or (from_file == "0" and from_rank == "0"):
        if promo or not 1 <= piece_type <= 7:
            raise ValueError("cannot drop this piece")
        move = board.drop_move(to_sq, piece_type)
    else:
        from_sq = (int(from_file) - 1) * 9 + int(from_rank) - 1
        if not (0 <= from_sq < 81 and board.piece_type(from_sq) == piece_type):
            raise ValueError("the named piece is not on the from-square")
        move = board.move(from_sq, to_sq, promo == "成")
    return cshogi.move_to_usi(move)


def _parse_hand(text: str, white: bool, source: str) -> str:
    out = ""
    for item in text.replace(" ", "　").split("　"):
        if not item or item == "なし":
            continue
        letter = _BOD_LETTERS.get(item[0])
        count = (
            cshogi.NUMBER_JAPANESE_KANJI_SYMBOLS.index(item[1:])
            if item[1:] in cshogi.NUMBER_JAPANESE_KANJI_SYMBOLS[1:]
            else (1 if len(item) == 1 else None)
        )
        if letter is None or letter in ("K", "+P", "+L", "+N", "+S", "+B", "+R") or count is None:
            raise ValueError(f"{source}: bad piece in hand {item!r}")
        out += (str(count) if count > 1 else "") + (letter.lower() if white else letter)
    return out


def _bod_row(row: str, source: str) -> str:
    cells = row[1 : row.index("|", 1)]
    if len(cells) != 18:
        raise ValueError(f"{source}: bad board-diagram row {row!r}")
    out, empty = "", 0
    for i in range(0, 18, 2):
        mark, piece = cells[i], cells[i + 1]
        if piece == "・":
            empty += 1
            continue
        letter = _BOD_LETTERS.get(piece)
        if letter is None or mark not in " v":
            raise ValueError(f"{source}: bad board-diagram cell {cells[i : i + 2]!r}")
        out += (str(empty) if empty else "") + (letter.lower() if mark == "v" else letter)
        empty = 0
    return out + (str(empty) if empty else "")


def parse_kif(text: str, source: str) -> ParsedRecord:
    start, rows, hands, side = STARTPOS_SFEN, [], {"b": "", "w": ""}, "b"
    tokens: list[str] = []
    ending = None
    for raw in text.replace("\r\n", "\n").split("\n"):
        line = raw.rstrip()
        if not line or line[0] in "#*&" or line.startswith("まで"):
            continue
        if line.startswith("変化"):
            break  # variations are not read
        if line.startswith("|"):
            rows.append(_bod_row(line, source))
        elif line.startswith(("後手番", "上手番")):
            side = "w"
        elif "：" in line and not _LINE_RE.match(line):
            key, value = line.split("：", 1)
            if key in ("先手の持駒", "下手の持駒", "後手の持駒", "上手の持駒"):
                hands["w" if key[0] in "後上" else "b"] = _parse_hand(value.strip(), key[0] in "後上", source)
            elif key == "手合割":
                sfen = cshogi_kif.Parser.HANDYCAP_SFENS.get(value.strip())
                if sfen is None:
                    raise ValueError(f"{source}: unsupported handicap {value.strip()!r}")
                start = sfen
        elif (m := _LINE_RE.match(line.replace("同　", "同"))) is not None:
            word = m.group(2)
            if word in _END_WORDS:
                ending = _END_WORDS[word]
                break
            tokens.append(word)
    if rows:
        if len(rows) != 9:
            raise ValueError(f"{source}: board diagram has {len(rows)} rows, expected 9")
        hand = hands["b"] + hands["w"] or "-"
        start = f"{'/'.join(rows)} {side} {hand} 1"
    try:
        start = validate_sfen(start)
    except ValueError as exc:
        raise ValueError(f"{source}: {exc}") from exc
    return ParsedRecord(start, tokens, _kif_token, exact=parse_result_comment(text, source), ending=ending)
