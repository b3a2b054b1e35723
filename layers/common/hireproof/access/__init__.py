"""Access gateway callbacks: validating the gateway's request tokens and signing decisions."""
