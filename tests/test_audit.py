"""The clinic audit (issue 23): de-identified change against the MCID across clients."""

from __future__ import annotations

from movekit.cli import main
from movekit.clinic.audit import audit
from movekit.clinic.store import Store


def test_audit_counts_clients_against_the_mcid_and_names_nobody(tmp_path, capsys):
    db = tmp_path / "clinic.sqlite3"
    with Store(db) as st:
        for code, name, first, last in (("C-1", "Ada Secret", 7, 3), ("C-2", "Bob Hidden", 6, 5),
                                        ("C-3", "Cy Private", 4, 7), ("C-4", "Di Only", 5, 5)):  # fmt: skip
            st.add_client(code, name)
            st.add_outcome(code, "nprs", first, date="2026-09-01")
            if code != "C-4":
                st.add_outcome(code, "nprs", last, date="2026-11-01")
        rows = audit(st)
    (nprs,) = rows
    # changes -4, -1, +3: NPRS MCID 2 points or 30 % (Farrar 2001)
    assert nprs.clients == 3 and nprs.median_change == -1.0 and (nprs.improved, nprs.worse, nprs.unchanged) == (1, 1, 1)
    out = tmp_path / "audit.html"
    assert main(["audit", "-o", str(out), "--db", str(db)]) == 0
    html = out.read_text()
    assert "Numeric Pain Rating Scale" in html and "<td>3</td>" in html
    for secret in ("C-1", "Ada Secret", "Bob Hidden", "2026-11-01"):
        assert secret not in html
    assert out.stat().st_mode & 0o777 == 0o600
    assert main(["audit", "-o", str(out), "--db", str(db)]) == 2  # never replaced without --overwrite
    assert main(["audit", "--since", "2026-10-01", "-o", str(tmp_path / "b.html"), "--db", str(db)]) == 0
    assert "No client has two scores" in (tmp_path / "b.html").read_text()
