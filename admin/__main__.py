"""python -m admin <command>: the operator's command line (Flask's click CLI)."""

from flask.cli import FlaskGroup

from . import create_app

cli = FlaskGroup(create_app=create_app, add_default_commands=False,
                 help="llm-gateway administration. Commands act on DATABASE_URL.")



def main() -> None:
    """The `llm-gateway-admin` entry point."""
    cli()


if __name__ == "__main__":
    cli(prog_name="python -m admin")
