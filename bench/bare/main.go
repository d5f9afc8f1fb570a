// Command bare is the ceiling for the load test: a Fiber v2 server that
// reads the request body and answers 200, nothing else. Measured in the same
// run as the bridge, it says what this payload costs on this machine before
// any work is done (HTTP parsing, socket I/O, the client itself).
package main

import (
	"flag"
	"log"

	"github.com/gofiber/fiber/v2"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:18081", "listen address")
	flag.Parse()
	app := fiber.New(fiber.Config{
		DisableStartupMessage: true,
		BodyLimit:             1 << 20, // the bridge's default body limit
		ReadBufferSize:        16 << 10,
	})
	var sink int
	app.Post("/*", func(c *fiber.Ctx) error {
		sink += len(c.Request().Body()) // read the body, as the bridge does
		return c.SendStatus(fiber.StatusOK)
	})
	app.Get("/-/ready", func(c *fiber.Ctx) error { return c.SendString("OK\n") })
	log.Fatal(app.Listen(*addr))
}
