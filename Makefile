# Shorthands for the scripts the README documents (the scripts work without make, too).
.PHONY: demo test install
demo:
	sh scripts/demo.sh
test:
	sh scripts/test.sh
install:
	sh scripts/bootstrap.sh
